//! Reading and checking `application/x-www-form-urlencoded` bodies: a size limit, strict UTF-8,
//! no NUL, a length limit per field. Every value is kept as a [`SecretString`] (most are
//! passwords) and zeroized on drop.

use selfpass_core::{ExposeSecret, SecretString};

/// Why a form was refused; each has a sentence for the error page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FormError {
    /// Body larger than the limit.
    TooLarge,
    /// Not a URL-encoded form.
    NotAForm,
    /// Broken percent-encoding.
    Malformed,
    /// A value that is not valid UTF-8.
    InvalidUtf8(String),
    /// A value with a NUL character.
    Nul(String),
    /// A value longer than its field allows.
    TooLong(String),
}

impl FormError {
    /// HTTP status for the error page.
    pub fn status(&self) -> u16 {
        match self {
            FormError::TooLarge => 413,
            FormError::NotAForm => 415,
            _ => 400,
        }
    }

    /// The sentence shown.
    pub fn message(&self) -> String {
        match self {
            FormError::TooLarge => "The form you sent is too large.".to_owned(),
            FormError::NotAForm => "The request was not a form this page accepts.".to_owned(),
            FormError::Malformed => "The form you sent was garbled.".to_owned(),
            FormError::InvalidUtf8(field) => {
                format!(
                    "The {} field contains characters that are not valid text.",
                    label(field)
                )
            }
            FormError::Nul(field) => {
                format!(
                    "The {} field contains a control character that is not allowed.",
                    label(field)
                )
            }
            FormError::TooLong(field) => format!("The {} field is too long.", label(field)),
        }
    }
}

fn label(field: &str) -> &str {
    match field {
        "username" => "username",
        "password" | "current" => "current password",
        "new" => "new password",
        "confirm" => "confirmation",
        "code" | "otp" => "code",
        _ => "form",
    }
}

/// Longest value accepted for `field`, in bytes.
pub fn max_len(field: &str) -> usize {
    match field {
        "username" => 256,
        "code" | "otp" => 32,
        "_csrf" => 128,
        _ => 1024,
    }
}

/// A decoded form.
#[derive(Debug, Default)]
pub struct Form {
    fields: Vec<(String, SecretString)>,
}

impl Form {
    /// Decodes a URL-encoded body, checking every value.
    ///
    /// # Errors
    /// [`FormError`] naming the first bad field.
    pub fn parse(body: &[u8]) -> Result<Form, FormError> {
        let mut fields = Vec::new();
        for pair in body.split(|b| *b == b'&') {
            if pair.is_empty() {
                continue;
            }
            let (name, value) = match pair.iter().position(|b| *b == b'=') {
                Some(i) => (&pair[..i], &pair[i + 1..]),
                None => (pair, &[][..]),
            };
            let name = String::from_utf8(decode(name)?).map_err(|_| FormError::Malformed)?;
            if name.len() > 64 {
                return Err(FormError::Malformed);
            }
            let value = decode(value)?;
            if value.len() > max_len(&name) {
                return Err(FormError::TooLong(name));
            }
            let value = String::from_utf8(value).map_err(|e| {
                let mut bytes = e.into_bytes();
                bytes.fill(0);
                FormError::InvalidUtf8(name.clone())
            })?;
            if value.contains('\0') {
                return Err(FormError::Nul(name));
            }
            if fields
                .iter()
                .any(|(n, _): &(String, SecretString)| *n == name)
            {
                continue; // the first value wins
            }
            fields.push((name, SecretString::from(value)));
        }
        Ok(Form { fields })
    }

    /// A field's value as text (empty when absent): for names, codes and tokens.
    pub fn text(&self, name: &str) -> &str {
        self.fields
            .iter()
            .find(|(n, _)| n == name)
            .map_or("", |(_, v)| v.expose_secret())
    }

    /// A field's value as a secret (empty when absent): for passwords.
    pub fn secret(&self, name: &str) -> SecretString {
        SecretString::from(self.text(name).to_owned())
    }
}

fn decode(input: &[u8]) -> Result<Vec<u8>, FormError> {
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        match input[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = input.get(i + 1..i + 3).ok_or(FormError::Malformed)?;
                let hi = (hex[0] as char).to_digit(16).ok_or(FormError::Malformed)?;
                let lo = (hex[1] as char).to_digit(16).ok_or(FormError::Malformed)?;
                out.push((hi * 16 + lo) as u8);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_fields() {
        let form = Form::parse(b"username=al%C3%AFce&password=a+b%26c&x").unwrap();
        assert_eq!(form.text("username"), "alïce");
        assert_eq!(form.secret("password").expose_secret(), "a b&c");
        assert_eq!(form.text("missing"), "");
    }

    #[test]
    fn refuses_bad_values() {
        assert_eq!(
            Form::parse(b"username=%FF").unwrap_err(),
            FormError::InvalidUtf8("username".into())
        );
        assert_eq!(
            Form::parse(b"username=a%00b").unwrap_err(),
            FormError::Nul("username".into())
        );
        assert_eq!(
            Form::parse(b"username=%G1").unwrap_err(),
            FormError::Malformed
        );
        assert_eq!(
            Form::parse(b"username=%4").unwrap_err(),
            FormError::Malformed
        );
        let long = format!("username={}", "a".repeat(257));
        assert_eq!(
            Form::parse(long.as_bytes()).unwrap_err(),
            FormError::TooLong("username".into())
        );
    }

    #[test]
    fn first_value_wins() {
        let form = Form::parse(b"a=1&a=2").unwrap();
        assert_eq!(form.text("a"), "1");
    }
}
