//! A small builder for query filters and options (`[filters, options]` of `*.query` methods).

use serde_json::{Map, Value, json};

/// A filter operator.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// `=`
    Eq,
    /// `!=`
    Ne,
    /// `>`
    Gt,
    /// `>=`
    Ge,
    /// `<`
    Lt,
    /// `<=`
    Le,
    /// `~` (regular expression)
    Regex,
    /// `in`
    In,
    /// `nin`
    NotIn,
    /// `^` (starts with)
    StartsWith,
    /// `$` (ends with)
    EndsWith,
    /// `C=` (case-insensitive equal)
    EqIgnoreCase,
}

impl Op {
    fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "!=",
            Op::Gt => ">",
            Op::Ge => ">=",
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Regex => "~",
            Op::In => "in",
            Op::NotIn => "nin",
            Op::StartsWith => "^",
            Op::EndsWith => "$",
            Op::EqIgnoreCase => "C=",
        }
    }
}

/// Filters and options for a `*.query` call.
///
/// ```
/// use truenas_client::{Op, Query};
/// let q = Query::new().filter("username", Op::Eq, "alice").local_only().limit(10);
/// assert_eq!(
///     q.to_params().to_string(),
///     r#"[[["username","=","alice"],["local","=",true]],{"limit":10}]"#
/// );
/// ```
#[derive(Debug, Clone, Default)]
pub struct Query {
    filters: Vec<Value>,
    options: Map<String, Value>,
}

impl Query {
    /// No filter, no options: everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds `[field, op, value]`.
    pub fn filter(mut self, field: &str, op: Op, value: impl Into<Value>) -> Self {
        self.filters.push(json!([field, op.as_str(), value.into()]));
        self
    }

    /// Only local users (excludes directory-service accounts).
    pub fn local_only(self) -> Self {
        self.filter("local", Op::Eq, true)
    }

    /// Returns only these fields.
    pub fn select<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let v: Vec<Value> = fields
            .into_iter()
            .map(|s| Value::String(s.into()))
            .collect();
        self.options.insert("select".into(), Value::Array(v));
        self
    }

    /// Sorts by these fields (`-field` for descending).
    pub fn order_by<I, S>(mut self, fields: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let v: Vec<Value> = fields
            .into_iter()
            .map(|s| Value::String(s.into()))
            .collect();
        self.options.insert("order_by".into(), Value::Array(v));
        self
    }

    /// At most `n` entries.
    pub fn limit(mut self, n: u64) -> Self {
        self.options.insert("limit".into(), n.into());
        self
    }

    /// Skips the first `n` entries.
    pub fn offset(mut self, n: u64) -> Self {
        self.options.insert("offset".into(), n.into());
        self
    }

    /// Exactly one entry (`get: true`); the server errors when none matches.
    pub fn get(mut self) -> Self {
        self.options.insert("get".into(), true.into());
        self
    }

    /// The `[filters, options]` params.
    pub fn to_params(&self) -> Value {
        Value::Array(vec![
            Value::Array(self.filters.clone()),
            Value::Object(self.options.clone()),
        ])
    }
}
