//! Each admin's own preferences: theme, language, time zone. Stored in the
//! database so they follow the admin to any host; every role may edit its own.

use std::str::FromStr;

use diesel::prelude::*;
use serde::Serialize;
use serde_json::json;

use super::{check_version, now, run_write, Ctx, Done, Principal};
use crate::db::models::UserPreferences;
use crate::db::schema::user_preferences;
use crate::db::AnyConnection;
use crate::error::{OpError, OpResult};
use crate::model::{AuditAction, AuditType};

pub const THEMES: [&str; 3] = ["dark", "light", "no-color"];

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Preferences {
    pub theme: String,
    pub language: String,
    pub timezone: String,
    /// 0 until the first save.
    pub version: i32,
}

impl Default for Preferences {
    fn default() -> Self {
        Preferences {
            theme: "dark".into(),
            language: "en".into(),
            timezone: "UTC".into(),
            version: 0,
        }
    }
}

impl Preferences {
    pub fn tz(&self) -> chrono_tz::Tz {
        chrono_tz::Tz::from_str(&self.timezone).unwrap_or(chrono_tz::UTC)
    }
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct PreferencesEdit {
    pub theme: Option<String>,
    pub language: Option<String>,
    pub timezone: Option<String>,
}

fn row(c: &mut AnyConnection, user_id: i32) -> QueryResult<Option<UserPreferences>> {
    user_preferences::table
        .filter(user_preferences::user_id.eq(user_id))
        .select(UserPreferences::as_select())
        .first(c)
        .optional()
}

fn from_row(r: UserPreferences) -> Preferences {
    Preferences {
        theme: r.theme,
        language: r.language,
        timezone: r.timezone,
        version: r.version,
    }
}

/// The acting user's preferences (defaults when never saved).
pub fn get(conn: &mut AnyConnection, ctx: &Ctx) -> OpResult<Preferences> {
    Principal::load_pending(conn, ctx)?;
    Ok(row(conn, ctx.user_id)?.map(from_row).unwrap_or_default())
}

pub fn theme(field: &str, s: &str) -> OpResult<String> {
    let t = s.trim().to_ascii_lowercase();
    if THEMES.contains(&t.as_str()) {
        Ok(t)
    } else {
        Err(OpError::invalid(
            field,
            format!("must be one of {} (got {s:?})", THEMES.join(", ")),
        ))
    }
}

pub fn timezone(field: &str, s: &str) -> OpResult<String> {
    chrono_tz::Tz::from_str(s.trim())
        .map(|tz| tz.name().to_string())
        .map_err(|_| {
            OpError::invalid(
                field,
                format!("{s:?} is not an IANA time zone such as Europe/Berlin or UTC"),
            )
        })
}

/// A language tag like "en" or "pt-BR". Texts exist in English only so far;
/// the tag is kept for when they do not.
pub fn language(field: &str, s: &str) -> OpResult<String> {
    let t = s.trim();
    let (lang, region) = t.split_once('-').map_or((t, None), |(l, r)| (l, Some(r)));
    let lang_ok = (2..=3).contains(&lang.len()) && lang.chars().all(|c| c.is_ascii_lowercase());
    let region_ok =
        region.is_none_or(|r| r.len() == 2 && r.chars().all(|c| c.is_ascii_uppercase()));
    if lang_ok && region_ok {
        Ok(t.to_string())
    } else {
        Err(OpError::invalid(
            field,
            format!("{s:?} is not a language tag such as en or pt-BR"),
        ))
    }
}

pub fn set(
    conn: &mut AnyConnection,
    ctx: &Ctx,
    expected_version: Option<i32>,
    e: &PreferencesEdit,
) -> OpResult<Preferences> {
    let request = json!({ "edit": e, "version": expected_version });
    run_write(
        conn,
        ctx,
        AuditAction::Update,
        AuditType::Preferences,
        request,
        |c, who| {
            let existing = row(c, who.id)?;
            let before = existing.clone().map(from_row).unwrap_or_default();
            check_version(
                "preferences of",
                &who.username,
                expected_version,
                before.version,
            )?;
            let mut after = before.clone();
            if let Some(t) = &e.theme {
                after.theme = theme("theme", t)?;
            }
            if let Some(l) = &e.language {
                after.language = language("language", l)?;
            }
            if let Some(z) = &e.timezone {
                after.timezone = timezone("timezone", z)?;
            }
            let t = now();
            match existing {
                Some(r) => {
                    diesel::update(
                        user_preferences::table
                            .find(r.id)
                            .filter(user_preferences::version.eq(r.version)),
                    )
                    .set((
                        user_preferences::theme.eq(&after.theme),
                        user_preferences::language.eq(&after.language),
                        user_preferences::timezone.eq(&after.timezone),
                        user_preferences::updated_at.eq(t),
                        user_preferences::version.eq(r.version + 1),
                    ))
                    .execute(c)?;
                }
                None => {
                    diesel::insert_into(user_preferences::table)
                        .values((
                            user_preferences::user_id.eq(who.id),
                            user_preferences::theme.eq(&after.theme),
                            user_preferences::language.eq(&after.language),
                            user_preferences::timezone.eq(&after.timezone),
                            user_preferences::created_at.eq(t),
                            user_preferences::updated_at.eq(t),
                        ))
                        .execute(c)?;
                }
            }
            let saved = row(c, who.id)?.map(from_row).unwrap_or_default();
            let done = Done::new(
                i64::from(who.id),
                json!({ "before": before, "after": saved }),
            );
            Ok((saved, done))
        },
    )
}
