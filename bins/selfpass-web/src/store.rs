//! Where portal sessions live: in the encrypted cookie itself (default), or in Redis for several
//! replicas (`--session-store redis://…`), where signing out deletes the session server-side.

use actix_session::storage::{
    CookieSessionStore, LoadError, SaveError, SessionKey, SessionStore, UpdateError,
};
use actix_web::cookie::time::Duration;
use std::collections::HashMap;

type State = HashMap<String, String>;

/// The session store chosen by `portal.session_store`.
#[derive(Clone)]
pub enum PortalStore {
    /// Everything in the encrypted, signed cookie.
    Cookie,
    /// Session state in Redis; the cookie holds only a random key.
    Redis(RedisSessionStore),
}

impl std::fmt::Debug for PortalStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            PortalStore::Cookie => "cookie",
            PortalStore::Redis(_) => "redis",
        })
    }
}

/// The middleware-side store (one per worker).
pub enum StoreHandle {
    /// Cookie store.
    Cookie(CookieSessionStore),
    /// Redis store.
    Redis(RedisSessionStore),
}

impl PortalStore {
    /// Opens the store `setting` names (`cookie` or a `redis://` URL).
    ///
    /// # Errors
    /// An unknown value, or a Redis that cannot be reached.
    pub async fn open(setting: &str) -> anyhow::Result<PortalStore> {
        if setting == "cookie" {
            return Ok(PortalStore::Cookie);
        }
        if !setting.starts_with("redis://") {
            anyhow::bail!(
                "setting SELFPASS_SESSION_STORE (portal.session_store): '{setting}' is not cookie or a redis:// URL"
            );
        }
        Ok(PortalStore::Redis(
            RedisSessionStore::connect(setting).await?,
        ))
    }

    pub(crate) fn handle(&self) -> StoreHandle {
        match self {
            PortalStore::Cookie => StoreHandle::Cookie(CookieSessionStore::default()),
            PortalStore::Redis(store) => StoreHandle::Redis(store.clone()),
        }
    }
}

/// Sessions in Redis under `selfpass:session:<random key>`, expiring with the session.
#[derive(Clone)]
pub struct RedisSessionStore {
    conn: redis::aio::ConnectionManager,
}

const PREFIX: &str = "selfpass:session:";

impl RedisSessionStore {
    /// Connects (the connection manager reconnects by itself later).
    ///
    /// # Errors
    /// When the URL is invalid or Redis does not answer.
    pub async fn connect(url: &str) -> anyhow::Result<Self> {
        let client = redis::Client::open(url).map_err(|e| {
            anyhow::anyhow!("setting SELFPASS_SESSION_STORE (portal.session_store): {e}")
        })?;
        let conn = redis::aio::ConnectionManager::new(client)
            .await
            .map_err(|e| {
                anyhow::anyhow!("session store: cannot reach Redis at the configured URL: {e}")
            })?;
        Ok(Self { conn })
    }

    async fn set(&self, key: &str, state: &State, ttl: &Duration) -> anyhow::Result<()> {
        let body = serde_json::to_string(state)?;
        let mut conn = self.conn.clone();
        redis::cmd("SET")
            .arg(format!("{PREFIX}{key}"))
            .arg(body)
            .arg("EX")
            .arg(ttl.whole_seconds().max(1))
            .query_async::<()>(&mut conn)
            .await?;
        Ok(())
    }
}

fn new_key() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl SessionStore for StoreHandle {
    async fn load(&self, session_key: &SessionKey) -> Result<Option<State>, LoadError> {
        match self {
            StoreHandle::Cookie(store) => store.load(session_key).await,
            StoreHandle::Redis(store) => {
                let mut conn = store.conn.clone();
                let body: Option<String> = redis::cmd("GET")
                    .arg(format!("{PREFIX}{}", session_key.as_ref()))
                    .query_async(&mut conn)
                    .await
                    .map_err(|e| LoadError::Other(e.into()))?;
                body.map(|b| serde_json::from_str(&b))
                    .transpose()
                    .map_err(|e| LoadError::Deserialization(e.into()))
            }
        }
    }

    async fn save(&self, session_state: State, ttl: &Duration) -> Result<SessionKey, SaveError> {
        match self {
            StoreHandle::Cookie(store) => store.save(session_state, ttl).await,
            StoreHandle::Redis(store) => {
                let key = new_key();
                store
                    .set(&key, &session_state, ttl)
                    .await
                    .map_err(SaveError::Other)?;
                SessionKey::try_from(key).map_err(|e| SaveError::Other(e.into()))
            }
        }
    }

    async fn update(
        &self,
        session_key: SessionKey,
        session_state: State,
        ttl: &Duration,
    ) -> Result<SessionKey, UpdateError> {
        match self {
            StoreHandle::Cookie(store) => store.update(session_key, session_state, ttl).await,
            StoreHandle::Redis(store) => {
                store
                    .set(session_key.as_ref(), &session_state, ttl)
                    .await
                    .map_err(UpdateError::Other)?;
                Ok(session_key)
            }
        }
    }

    async fn update_ttl(&self, session_key: &SessionKey, ttl: &Duration) -> anyhow::Result<()> {
        match self {
            StoreHandle::Cookie(store) => store.update_ttl(session_key, ttl).await,
            StoreHandle::Redis(store) => {
                let mut conn = store.conn.clone();
                redis::cmd("EXPIRE")
                    .arg(format!("{PREFIX}{}", session_key.as_ref()))
                    .arg(ttl.whole_seconds().max(1))
                    .query_async::<()>(&mut conn)
                    .await?;
                Ok(())
            }
        }
    }

    async fn delete(&self, session_key: &SessionKey) -> anyhow::Result<()> {
        match self {
            StoreHandle::Cookie(store) => store.delete(session_key).await,
            StoreHandle::Redis(store) => {
                let mut conn = store.conn.clone();
                redis::cmd("DEL")
                    .arg(format!("{PREFIX}{}", session_key.as_ref()))
                    .query_async::<()>(&mut conn)
                    .await?;
                Ok(())
            }
        }
    }
}
