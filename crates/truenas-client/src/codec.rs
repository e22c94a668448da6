//! Framing: JSON-RPC 2.0 (`/api/current`) and the legacy DDP-like protocol (`/websocket`).
//!
//! Both share one engine; a codec only turns calls into text frames and text frames into replies.

use std::borrow::Cow;

use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::error::{Error, ValidationError};

/// An error object the server sent for one call, before it is tied to a method name.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RemoteError {
    pub code: i64,
    pub message: String,
    pub errno: Option<i64>,
    pub errname: Option<String>,
    pub reason: Option<String>,
    pub validation: bool,
    pub extra: Option<Value>,
}

impl RemoteError {
    pub(crate) fn into_error(self, method: &str) -> Error {
        let method = method.to_string();
        if self.validation || self.code == -32602 {
            let errors = self
                .extra
                .as_ref()
                .and_then(Value::as_array)
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|t| {
                            let t = t.as_array()?;
                            Some(ValidationError {
                                attribute: t.first()?.as_str().unwrap_or_default().to_string(),
                                message: t.get(1)?.as_str().unwrap_or_default().to_string(),
                                errno: t.get(2).and_then(Value::as_i64).unwrap_or(22),
                            })
                        })
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default();
            if !errors.is_empty() {
                return Error::Validation { method, errors };
            }
        }
        let reason = self.reason.unwrap_or(self.message);
        if self.errno == Some(16) || self.errname.as_deref() == Some("EBUSY") {
            return Error::RateLimited { method, reason };
        }
        Error::Call {
            method,
            code: self.code,
            errno: self.errno,
            errname: self.errname,
            reason,
        }
    }

    /// The method does not exist on this server (JSON-RPC -32601 or legacy ENOMETHOD).
    pub(crate) fn is_no_method(err: &Error) -> bool {
        match err {
            Error::Call { code, errno, .. } => *code == -32601 || *errno == Some(201),
            _ => false,
        }
    }
}

/// What one inbound text frame means.
#[derive(Debug)]
pub(crate) enum Inbound {
    /// The reply to call `id`.
    Reply {
        id: u64,
        outcome: Result<Box<RawValue>, RemoteError>,
    },
    /// Legacy handshake accepted.
    Connected,
    /// Legacy handshake refused.
    Failed,
    /// An error not tied to any call (e.g. JSON-RPC parse error with `id: null`).
    Orphan(RemoteError),
    /// Notifications, events, replies to unknown ids: nothing to do.
    Ignore,
    /// Not valid protocol text.
    Garbage(String),
}

/// Turns calls into frames and frames into [`Inbound`] events.
pub(crate) trait Codec: Send + Sync + 'static {
    /// Human name for logs.
    fn name(&self) -> &'static str;
    /// One call as a text frame.
    fn encode_call(&self, id: u64, method: &str, params: &Value) -> String;
    /// The first frame to send after the upgrade, if the protocol has a handshake.
    fn hello(&self) -> Option<String>;
    /// Classifies one inbound text frame.
    fn decode(&self, text: &str) -> Inbound;
}

/// One call frame, written in a single buffer: `opening` (up to and including `"id":`), the id
/// (quoted when `quote_id`), the method, and the positional params (arrays as is, `null` as none,
/// anything else as the single argument).
fn call_frame(opening: &str, id: u64, quote_id: bool, method: &str, params: &Value) -> String {
    use std::io::Write as _;
    let mut out = Vec::with_capacity(opening.len() + method.len() + 48);
    out.extend_from_slice(opening.as_bytes());
    // Writing into a Vec cannot fail, nor can serializing a str or a Value.
    let _ = if quote_id {
        write!(out, "\"{id}\"")
    } else {
        write!(out, "{id}")
    };
    out.extend_from_slice(br#","method":"#);
    let _ = serde_json::to_writer(&mut out, method);
    out.extend_from_slice(br#","params":"#);
    match params {
        Value::Array(_) => {
            let _ = serde_json::to_writer(&mut out, params);
        }
        Value::Null => out.extend_from_slice(b"[]"),
        other => {
            out.push(b'[');
            let _ = serde_json::to_writer(&mut out, other);
            out.push(b']');
        }
    }
    out.push(b'}');
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn parse_id(raw: &RawValue) -> Option<u64> {
    let t = raw.get();
    let t = t
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .unwrap_or(t);
    t.parse().ok()
}

fn null_raw() -> Box<RawValue> {
    Box::<RawValue>::default() // `null`
}

#[derive(Deserialize, Default)]
struct ErrData {
    #[serde(default)]
    error: Option<i64>,
    #[serde(default)]
    errname: Option<String>,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    extra: Option<Value>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct RpcErr {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    data: Option<ErrData>,
}

/// JSON-RPC 2.0, as spoken on `/api/current` and `/api/vX`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct JsonRpc;

#[derive(Deserialize)]
struct RpcIn<'a> {
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(default)]
    result: Option<Box<RawValue>>,
    #[serde(default)]
    error: Option<RpcErr>,
    #[serde(default, borrow)]
    method: Option<Cow<'a, str>>,
}

impl Codec for JsonRpc {
    fn name(&self) -> &'static str {
        "JSON-RPC 2.0"
    }

    fn encode_call(&self, id: u64, method: &str, params: &Value) -> String {
        call_frame(r#"{"jsonrpc":"2.0","id":"#, id, false, method, params)
    }

    fn hello(&self) -> Option<String> {
        None
    }

    fn decode(&self, text: &str) -> Inbound {
        let msg: RpcIn<'_> = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => return Inbound::Garbage(e.to_string()),
        };
        if msg.method.is_some() && msg.result.is_none() && msg.error.is_none() {
            return Inbound::Ignore; // notification
        }
        let id = msg.id.filter(|r| r.get() != "null").and_then(parse_id);
        let outcome = match msg.error {
            Some(e) => {
                let data = e.data.unwrap_or_default();
                Err(RemoteError {
                    code: e.code,
                    message: e.message.unwrap_or_default(),
                    errno: data.error,
                    errname: data.errname,
                    reason: data.reason,
                    validation: e.code == -32602,
                    extra: data.extra,
                })
            }
            None => Ok(msg.result.unwrap_or_else(null_raw)),
        };
        match (id, outcome) {
            (Some(id), outcome) => Inbound::Reply { id, outcome },
            (None, Err(e)) => Inbound::Orphan(e),
            (None, Ok(_)) => Inbound::Ignore,
        }
    }
}

/// The legacy DDP-like protocol of `/websocket` (every message has `msg`).
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Legacy;

#[derive(Deserialize)]
struct LegacyIn<'a> {
    #[serde(default, borrow)]
    msg: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    id: Option<&'a RawValue>,
    #[serde(default)]
    result: Option<Box<RawValue>>,
    #[serde(default)]
    error: Option<ErrData>,
}

impl Codec for Legacy {
    fn name(&self) -> &'static str {
        "legacy DDP"
    }

    fn encode_call(&self, id: u64, method: &str, params: &Value) -> String {
        call_frame(r#"{"msg":"method","id":"#, id, true, method, params)
    }

    fn hello(&self) -> Option<String> {
        Some(r#"{"msg":"connect","version":"1","support":["1"],"features":[]}"#.to_string())
    }

    fn decode(&self, text: &str) -> Inbound {
        let msg: LegacyIn<'_> = match serde_json::from_str(text) {
            Ok(m) => m,
            Err(e) => return Inbound::Garbage(e.to_string()),
        };
        match msg.msg.as_deref() {
            Some("connected") => Inbound::Connected,
            Some("failed") => Inbound::Failed,
            Some("result") => {
                let Some(id) = msg.id.and_then(parse_id) else {
                    return Inbound::Ignore;
                };
                let outcome = match msg.error {
                    Some(e) => Err(RemoteError {
                        code: 0,
                        message: String::new(),
                        errno: e.error,
                        validation: e.kind.as_deref() == Some("VALIDATION"),
                        errname: e.errname,
                        reason: e.reason,
                        extra: e.extra,
                    }),
                    None => Ok(msg.result.unwrap_or_else(null_raw)),
                };
                Inbound::Reply { id, outcome }
            }
            Some(_) => Inbound::Ignore,
            None => Inbound::Garbage("message without \"msg\"".into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn jsonrpc_encode() {
        let s = JsonRpc.encode_call(7, "core.ping", &Value::Null);
        let v: Value = serde_json::from_str(&s).unwrap_or_default();
        assert_eq!(
            v,
            json!({"jsonrpc":"2.0","id":7,"method":"core.ping","params":[]})
        );
        let s = JsonRpc.encode_call(8, "a\"b", &json!({"x": 1}));
        let v: Value = serde_json::from_str(&s).unwrap_or_default();
        assert_eq!(v["params"], json!([{"x": 1}]));
        assert_eq!(v["method"], "a\"b");
    }

    #[test]
    fn jsonrpc_decode_result_and_null() {
        match JsonRpc.decode(r#"{"jsonrpc":"2.0","result":"pong","id":3}"#) {
            Inbound::Reply {
                id: 3,
                outcome: Ok(r),
            } => assert_eq!(r.get(), "\"pong\""),
            other => panic!("{other:?}"),
        }
        match JsonRpc.decode(r#"{"jsonrpc":"2.0","result":null,"id":"4"}"#) {
            Inbound::Reply {
                id: 4,
                outcome: Ok(r),
            } => assert_eq!(r.get(), "null"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            JsonRpc.decode(r#"{"jsonrpc":"2.0","method":"collection_update","params":{}}"#),
            Inbound::Ignore
        ));
        assert!(matches!(JsonRpc.decode("nope"), Inbound::Garbage(_)));
    }

    #[test]
    fn jsonrpc_decode_errors() {
        let t = r#"{"jsonrpc":"2.0","error":{"code":-32602,"message":"Invalid params","data":{"error":22,"errname":"EINVAL","reason":"[EINVAL] x: bad\n","trace":null,"extra":[["user.set_password.old_password","alice: failed to validate password.",22]]}},"id":1}"#;
        let Inbound::Reply {
            id: 1,
            outcome: Err(e),
        } = JsonRpc.decode(t)
        else {
            panic!("not a reply")
        };
        let err = e.into_error("user.set_password");
        let v = err.validation_errors();
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].attribute, "user.set_password.old_password");
        assert_eq!(v[0].errno, 22);

        let t = r#"{"jsonrpc":"2.0","error":{"code":-32001,"message":"Method call error","data":{"error":16,"errname":"EBUSY","reason":"[EBUSY] Rate Limit Exceeded","trace":null,"extra":null}},"id":2}"#;
        let Inbound::Reply {
            outcome: Err(e), ..
        } = JsonRpc.decode(t)
        else {
            panic!()
        };
        let err = e.into_error("auth.login_ex");
        assert!(err.is_rate_limited());
        assert!(err.is_retryable());

        let t = r#"{"jsonrpc":"2.0","error":{"code":-32001,"message":"Method call error","data":{"error":207,"errname":"ENOTAUTHENTICATED","reason":"[ENOTAUTHENTICATED] Not authenticated","trace":{"class":"CallError"},"extra":null}},"id":2}"#;
        let Inbound::Reply {
            outcome: Err(e), ..
        } = JsonRpc.decode(t)
        else {
            panic!()
        };
        let err = e.into_error("user.query");
        assert!(err.is_auth());
        assert!(err.hint().contains("log in"));
        match err {
            Error::Call {
                code,
                errno,
                errname,
                reason,
                ..
            } => {
                assert_eq!(code, -32001);
                assert_eq!(errno, Some(207));
                assert_eq!(errname.as_deref(), Some("ENOTAUTHENTICATED"));
                assert_eq!(reason, "[ENOTAUTHENTICATED] Not authenticated");
            }
            other => panic!("{other:?}"),
        }

        let t =
            r#"{"jsonrpc":"2.0","error":{"code":-32601,"message":"Method does not exist"},"id":5}"#;
        let Inbound::Reply {
            outcome: Err(e), ..
        } = JsonRpc.decode(t)
        else {
            panic!()
        };
        assert!(RemoteError::is_no_method(&e.into_error("auth.login_ex")));

        let t =
            r#"{"jsonrpc":"2.0","error":{"code":-32700,"message":"Expecting value"},"id":null}"#;
        assert!(matches!(JsonRpc.decode(t), Inbound::Orphan(_)));
    }

    #[test]
    fn legacy_roundtrip() {
        let s = Legacy.encode_call(9, "auth.login", &json!(["u", "p"]));
        let v: Value = serde_json::from_str(&s).unwrap_or_default();
        assert_eq!(
            v,
            json!({"msg":"method","id":"9","method":"auth.login","params":["u","p"]})
        );
        assert!(matches!(
            Legacy.decode(r#"{"msg":"connected","session":"x"}"#),
            Inbound::Connected
        ));
        assert!(matches!(
            Legacy.decode(r#"{"msg":"failed","version":"1"}"#),
            Inbound::Failed
        ));
        match Legacy.decode(r#"{"id":"9","msg":"result","result":true}"#) {
            Inbound::Reply {
                id: 9,
                outcome: Ok(r),
            } => assert_eq!(r.get(), "true"),
            other => panic!("{other:?}"),
        }
        let t = r#"{"msg":"result","id":"10","error":{"error":11,"errname":"EAGAIN","type":"VALIDATION","reason":"r","trace":null,"extra":[["a","b",22]]}}"#;
        let Inbound::Reply {
            outcome: Err(e), ..
        } = Legacy.decode(t)
        else {
            panic!()
        };
        assert_eq!(e.into_error("m").validation_errors().len(), 1);
        let t = r#"{"msg":"result","id":"11","error":{"error":201,"errname":"ENOMETHOD","type":null,"reason":"[ENOMETHOD] Method 'x' not found in 'auth'","trace":null,"extra":null}}"#;
        let Inbound::Reply {
            outcome: Err(e), ..
        } = Legacy.decode(t)
        else {
            panic!()
        };
        assert!(RemoteError::is_no_method(&e.into_error("auth.x")));
        assert!(matches!(
            Legacy.decode(r#"{"jsonrpc":"2.0"}"#),
            Inbound::Garbage(_)
        ));
    }
}
