//! Method errors and their two wire shapes: the JSON-RPC error object and the legacy error dict.

use serde_json::{Value, json};

/// errno values the simulator raises.
pub(crate) mod errno {
    pub const EPERM: i64 = 1;
    pub const ENOENT: i64 = 2;
    pub const EAGAIN: i64 = 11;
    pub const EACCES: i64 = 13;
    pub const EBUSY: i64 = 16;
    pub const EINVAL: i64 = 22;
    pub const EBADMSG: i64 = 74;
    pub const ENOMETHOD: i64 = 201;
    pub const ENOTAUTHENTICATED: i64 = 207;
}

/// `errno.errorcode[n]` or a TrueNAS custom name, else `EUNKNOWN`.
pub(crate) fn errname(n: i64) -> &'static str {
    match n {
        1 => "EPERM",
        2 => "ENOENT",
        11 => "EAGAIN",
        13 => "EACCES",
        16 => "EBUSY",
        17 => "EEXIST",
        22 => "EINVAL",
        74 => "EBADMSG",
        95 => "EOPNOTSUPP",
        201 => "ENOMETHOD",
        202 => "ESERVICESTARTFAILURE",
        203 => "EALERTCHECKERUNAVAILABLE",
        204 => "EREMOTENODEERROR",
        205 => "EDATASETISLOCKED",
        206 => "EINVALIDRRDTIMESTAMP",
        207 => "ENOTAUTHENTICATED",
        208 => "ESSLCERTVERIFICATIONERROR",
        209 => "EREBOOTREQUIRED",
        210 => "EHAUNAVAILABLE",
        _ => "EUNKNOWN",
    }
}

/// Python-style single-quoted repr of a string.
fn py_repr(s: &str) -> String {
    let q = if s.contains('\'') && !s.contains('"') {
        '"'
    } else {
        '\''
    };
    let mut out = String::with_capacity(s.len() + 2);
    out.push(q);
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c == q => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out.push(q);
    out
}

/// An error raised by a method, before it is given a wire shape.
#[derive(Debug, Clone)]
pub(crate) enum MethodError {
    /// `CallError(errmsg, errno)`: reason `[ERRNAME] errmsg`.
    Call { errno: i64, msg: String },
    /// `ValidationErrors`: `(attribute, message, errno)` triples.
    Validation(Vec<(String, String, i64)>),
    /// Any other Python exception: `class`, `str(e) or repr(e)`, errno (EINVAL for MatchNotFound).
    Exception {
        class: String,
        reason: String,
        repr: String,
        errno: i64,
    },
}

impl MethodError {
    pub(crate) fn call(errno: i64, msg: impl Into<String>) -> Self {
        MethodError::Call {
            errno,
            msg: msg.into(),
        }
    }

    pub(crate) fn not_authenticated() -> Self {
        Self::call(errno::ENOTAUTHENTICATED, "Not authenticated")
    }

    pub(crate) fn not_authorized() -> Self {
        Self::call(errno::EACCES, "Not authorized")
    }

    pub(crate) fn validation(attr: impl Into<String>, msg: impl Into<String>) -> Self {
        MethodError::Validation(vec![(attr.into(), msg.into(), errno::EINVAL)])
    }

    pub(crate) fn match_not_found() -> Self {
        MethodError::Exception {
            class: "MatchNotFound".into(),
            reason: "MatchNotFound()".into(),
            repr: "MatchNotFound()".into(),
            errno: errno::EINVAL,
        }
    }

    fn class(&self) -> &str {
        match self {
            MethodError::Call { .. } => "CallError",
            MethodError::Validation(_) => "ValidationErrors",
            MethodError::Exception { class, .. } => class,
        }
    }

    fn reason(&self) -> String {
        match self {
            MethodError::Call { errno, msg } => format!("[{}] {msg}", errname(*errno)),
            MethodError::Validation(errs) => errs
                .iter()
                .map(|(a, m, e)| format!("[{}] {a}: {m}\n", errname(*e)))
                .collect(),
            MethodError::Exception { reason, .. } => reason.clone(),
        }
    }

    fn repr(&self) -> String {
        match self {
            MethodError::Call { errno, msg } => format!("CallError({}, {errno})", py_repr(msg)),
            MethodError::Validation(errs) => {
                let inner: Vec<String> = errs
                    .iter()
                    .map(|(a, m, e)| {
                        format!("ValidationError({}, {}, {e})", py_repr(a), py_repr(m))
                    })
                    .collect();
                format!("ValidationErrors([{}])", inner.join(", "))
            }
            MethodError::Exception { repr, .. } => repr.clone(),
        }
    }

    fn extra(&self) -> Value {
        match self {
            MethodError::Validation(errs) => {
                Value::Array(errs.iter().map(|(a, m, e)| json!([a, m, e])).collect())
            }
            _ => Value::Null,
        }
    }

    /// A Python-like traceback object (`utils/debug.py` shape); frames are synthetic.
    fn trace(&self, method: &str) -> Value {
        let class = self.class();
        let repr = self.repr();
        let (file, line, func) = match self {
            MethodError::Validation(_) => (
                "/usr/lib/python3/dist-packages/middlewared/service_exception.py",
                73,
                "check",
            ),
            _ => (
                "/usr/lib/python3/dist-packages/middlewared/main.py",
                1100,
                "_call",
            ),
        };
        let body = match self {
            MethodError::Validation(_) => "raise self",
            _ => "return await methodobj(*prepared_call.args)",
        };
        let formatted = format!(
            "Traceback (most recent call last):\n  File \"/usr/lib/python3/dist-packages/middlewared/api/base/server/ws_handler/rpc.py\", line 360, in process_method_call\n    result = await method.call(app, id_, params)\n  File \"{file}\", line {line}, in {func}\n    {body}\n{}: {}\n",
            class,
            self.reason().trim_end()
        );
        json!({
            "class": class,
            "frames": [
                {"filename": file, "lineno": line, "method": func, "line": format!("    {body}\n"),
                 "argspec": [], "varargspec": null, "keywordspec": null, "locals": {}},
                {"filename": "/usr/lib/python3/dist-packages/middlewared/api/base/server/ws_handler/rpc.py",
                 "lineno": 360, "method": "process_method_call",
                 "line": "    result = await method.call(app, id_, params)\n",
                 "argspec": ["self", "app", "id_", "method", "params"], "varargspec": null,
                 "keywordspec": null, "locals": {"method": format!("<Method {method}>")}}
            ],
            "formatted": formatted,
            "repr": repr,
        })
    }

    /// The JSON-RPC `error` member (code, message, data).
    pub(crate) fn to_jsonrpc(&self, method: &str) -> Value {
        let (code, message, err) = match self {
            MethodError::Validation(_) => (-32602, "Invalid params", errno::EINVAL),
            MethodError::Call { errno, .. } => (-32001, "Method call error", *errno),
            MethodError::Exception { errno, .. } => (-32001, "Method call error", *errno),
        };
        json!({
            "code": code,
            "message": message,
            "data": {
                "error": err,
                "errname": errname(err),
                "reason": self.reason(),
                "trace": self.trace(method),
                "extra": self.extra(),
            }
        })
    }

    /// The legacy (`/websocket`) error dict: ValidationErrors travel as EAGAIN + `type: VALIDATION`.
    pub(crate) fn to_legacy(&self, method: &str) -> Value {
        // The middleware's methods raise ValidationErrors (plural): EAGAIN + type VALIDATION.
        let (err, kind) = match self {
            MethodError::Validation(_) => (errno::EAGAIN, Value::from("VALIDATION")),
            MethodError::Call { errno, .. } | MethodError::Exception { errno, .. } => {
                (*errno, Value::Null)
            }
        };
        json!({
            "error": err,
            "errname": errname(err),
            "type": kind,
            "reason": self.reason(),
            "trace": self.trace(method),
            "extra": self.extra(),
        })
    }
}

/// A JSON-RPC reply frame with an error object.
pub(crate) fn jsonrpc_error_frame(id: &Value, error: Value) -> String {
    json!({"jsonrpc": "2.0", "error": error, "id": id}).to_string()
}

/// A JSON-RPC success frame, written in one buffer (every call's reply: kept cheap).
pub(crate) fn jsonrpc_result_frame(id: &Value, result: &Value) -> String {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(br#"{"jsonrpc":"2.0","result":"#);
    // Serializing a Value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut out, result);
    out.extend_from_slice(br#","id":"#);
    let _ = serde_json::to_writer(&mut out, id);
    out.push(b'}');
    String::from_utf8(out).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// A JSON-RPC error without `data` (-32700, -32600, -32601, -32000).
pub(crate) fn jsonrpc_plain_error(id: &Value, code: i64, message: &str) -> String {
    jsonrpc_error_frame(id, json!({"code": code, "message": message}))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn call_error_shape() {
        let e = MethodError::not_authenticated().to_jsonrpc("user.query");
        assert_eq!(e["code"], -32001);
        assert_eq!(e["data"]["reason"], "[ENOTAUTHENTICATED] Not authenticated");
        assert_eq!(
            e["data"]["trace"]["repr"],
            "CallError('Not authenticated', 207)"
        );
        assert!(e["data"]["extra"].is_null());
    }

    #[test]
    fn validation_shape() {
        let e = MethodError::validation(
            "user.set_password.old_password",
            "alice: failed to validate password.",
        );
        let j = e.to_jsonrpc("user.set_password");
        assert_eq!(j["code"], -32602);
        assert_eq!(
            j["data"]["reason"],
            "[EINVAL] user.set_password.old_password: alice: failed to validate password.\n"
        );
        assert_eq!(
            j["data"]["trace"]["repr"],
            "ValidationErrors([ValidationError('user.set_password.old_password', 'alice: failed to validate password.', 22)])"
        );
        let l = e.to_legacy("user.set_password");
        assert_eq!(l["error"], 11);
        assert_eq!(l["errname"], "EAGAIN");
        assert_eq!(l["type"], "VALIDATION");
    }
}
