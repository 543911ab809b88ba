//! Reading a filled form: each value by its field id, checked by the same
//! rules ops uses (`validate`), every problem kept beside its field so all
//! of them show at once.

use super::form::Form;
use super::forms::FormKind;
use super::spec::FieldId;
use crate::model::Perm;
use crate::validate;

/// Field-level problems found before sending.
pub type FieldErrors = Vec<(String, String)>;

pub struct Reader<'a> {
    pub form: &'a Form,
    pub errors: FieldErrors,
}

impl<'a> Reader<'a> {
    pub fn new(form: &'a Form) -> Reader<'a> {
        Reader {
            form,
            errors: Vec::new(),
        }
    }
    /// What is typed, untrimmed.
    pub fn raw(&self, id: impl FieldId) -> &'a str {
        self.form.value(id)
    }
    /// A problem the form finds itself, beside its field.
    pub fn fail(&mut self, id: impl FieldId, message: impl Into<String>) {
        self.errors.push((id.name().to_string(), message.into()));
    }
    /// A yes/no picker (an empty one is no).
    pub fn yes_no(&mut self, id: impl FieldId) -> bool {
        match self.text(id).to_ascii_lowercase().as_str() {
            "yes" | "y" => true,
            "no" | "n" | "" => false,
            other => {
                self.fail(id, format!("{other:?}: answer yes or no"));
                false
            }
        }
    }
    /// The trimmed value; an empty field with a default is its default.
    pub fn text(&self, id: impl FieldId) -> String {
        let v = self.form.value(id).trim();
        match self.form.field(id).and_then(|f| f.default.as_deref()) {
            Some(d) if v.is_empty() => d.to_string(),
            _ => v.to_string(),
        }
    }
    /// Some(value) only when it changed (edits) or always (creates).
    pub fn changed(&self, id: impl FieldId) -> Option<String> {
        let f = self.form.field(id)?;
        (f.changed() || matches!(self.form.kind, FormKind::Create(_))).then(|| self.text(id))
    }
    pub fn optional(&self, id: impl FieldId) -> Option<String> {
        Some(self.text(id)).filter(|s| !s.is_empty())
    }
    /// One message per field: the first problem found is the one to fix.
    pub fn push(&mut self, name: &str, e: &crate::error::OpError) {
        if !self.errors.iter().any(|(n, _)| n == name) {
            self.errors.push((name.to_string(), message_of(e)));
        }
    }
    /// Run ops' own rule for this field on what will be sent (created, or
    /// changed on an edit), so a bad value is marked before any round trip
    /// and every field's problem shows at once.
    pub fn check<T>(
        &mut self,
        id: impl FieldId,
        rule: impl FnOnce(&str, &str) -> crate::error::OpResult<T>,
    ) {
        if let Some(v) = self.changed(id) {
            if let Err(e) = rule(id.name(), &v) {
                self.push(id.name(), &e);
            }
        }
    }
    /// Like `check`, for a field ops skips when it is left empty.
    pub fn check_opt<T>(
        &mut self,
        id: impl FieldId,
        rule: impl FnOnce(&str, &str) -> crate::error::OpResult<T>,
    ) {
        if self.changed(id).is_some_and(|v| !v.is_empty()) {
            self.check(id, rule);
        }
    }
    pub fn size(&mut self, id: impl FieldId) -> Option<i64> {
        let raw = self.changed(id)?;
        self.parse_size(id, &raw)
    }
    pub fn parse_size(&mut self, id: impl FieldId, raw: &str) -> Option<i64> {
        match validate::size(id.name(), raw) {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(id.name(), &e);
                None
            }
        }
    }
    /// A count limit: a whole number, then ops' rule (`count_limit`: not
    /// negative, fits the column).
    pub fn count(&mut self, id: impl FieldId) -> Option<i64> {
        let raw = self.changed(id)?;
        self.parse_count(id, &raw)
    }
    pub fn parse_count(&mut self, id: impl FieldId, raw: &str) -> Option<i64> {
        let parsed = if raw.eq_ignore_ascii_case("unlimited") {
            Ok(0)
        } else {
            raw.parse::<i64>()
        };
        let checked = match parsed {
            Ok(v) => validate::count_limit(id.name(), v).map(|_| v),
            Err(_) => Err(crate::error::OpError::invalid(
                id.name(),
                format!("{raw:?} is not a whole number (0 = unlimited)"),
            )),
        };
        match checked {
            Ok(v) => Some(v),
            Err(e) => {
                self.push(id.name(), &e);
                None
            }
        }
    }
    /// A whole number ops range-checks itself (LDAP port, priority).
    pub fn number(&mut self, id: impl FieldId) -> Option<i64> {
        let raw = self.changed(id)?;
        match raw.parse::<i64>() {
            Ok(v) => Some(v),
            Err(_) => {
                self.push(
                    id.name(),
                    &crate::error::OpError::invalid(
                        id.name(),
                        format!("{raw:?} is not a whole number"),
                    ),
                );
                None
            }
        }
    }
    /// A size typed into a field that may stay empty (None).
    pub fn opt_size(&mut self, id: impl FieldId) -> Option<i64> {
        let raw = self.optional(id)?;
        self.parse_size(id, &raw)
    }
    pub fn opt_count(&mut self, id: impl FieldId) -> Option<i64> {
        let raw = self.optional(id)?;
        self.parse_count(id, &raw)
    }
    pub fn required(&mut self, id: impl FieldId) -> String {
        let v = self.text(id);
        if v.is_empty() {
            self.push(
                id.name(),
                &crate::error::OpError::invalid(id.name(), "required"),
            );
        }
        v
    }
    pub fn secret(&self, id: impl FieldId) -> Option<String> {
        // Passwords are taken as typed: spaces may be part of them.
        Some(self.form.value(id).to_string()).filter(|s| !s.is_empty())
    }
    /// A password by ops' rule (length from the server's policy when the
    /// session told it); `required`: an empty one is checked too.
    pub fn password(&mut self, id: impl FieldId, required: bool) -> Option<String> {
        let pw = self.secret(id);
        if pw.is_some() || required {
            let min = self.form.min_password.unwrap_or(0);
            if let Err(e) = validate::password(id.name(), pw.as_deref().unwrap_or(""), min) {
                self.push(id.name(), &e);
            }
        }
        pw
    }
    pub fn perms(&mut self, id: impl FieldId) -> Vec<Perm> {
        match Perm::parse_list(id.name(), &self.text(id)) {
            Ok(p) => p,
            Err(e) => {
                self.push(id.name(), &e);
                Vec::new()
            }
        }
    }
}

fn message_of(e: &crate::error::OpError) -> String {
    match e {
        crate::error::OpError::Invalid { message, .. } => message.clone(),
        other => other.to_string(),
    }
}
