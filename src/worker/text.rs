//! The mail-config text panel: a version's text, or its diff against the
//! file on disk or the previous version.

use super::{Response, TextMode};
use crate::db::AnyConnection;
use crate::error::OpError;
use crate::mail::configs::unified_diff;
use crate::ops::{self, Ctx};

pub(super) fn config_text(
    c: &mut AnyConnection,
    ctx: &Ctx,
    id: i32,
    mode: TextMode,
) -> Result<Response, OpError> {
    let row = ops::mail_configs::get(c, ctx, id)?;
    let label = format!("{} version {}", row.config_file, row.version);
    let (title, body) = match mode {
        TextMode::Content | TextMode::ForEdit => (label, row.config_data.clone()),
        TextMode::DiffDisk => {
            let disk = on_disk(&row.config_file)?;
            let d = unified_diff(
                &format!("{} (on disk)", row.config_file),
                &disk,
                &label,
                &row.config_data,
            );
            (format!("{label} against the file on disk"), d)
        }
        TextMode::DiffPrevious => {
            let versions = ops::mail_configs::list(
                c,
                ctx,
                Some(&row.service_name),
                Some(&row.config_file),
                1000,
            )?;
            let prev = versions
                .iter()
                .filter(|v| v.version < row.version)
                .max_by_key(|v| v.version)
                .ok_or_else(|| {
                    OpError::invalid("version", format!("{label} is the first version"))
                })?;
            let d = unified_diff(
                &format!("{} version {}", prev.config_file, prev.version),
                &prev.config_data,
                &label,
                &row.config_data,
            );
            (format!("{label} against version {}", prev.version), d)
        }
    };
    Ok(Response::Text {
        id,
        mode,
        title,
        body: if body.is_empty() && mode != TextMode::ForEdit {
            "(no differences)".into()
        } else {
            body
        },
    })
}

/// The file as it is on disk. A file that cannot be read is an error, not
/// an empty text: a diff against nothing would claim every line is new.
fn on_disk(file: &str) -> Result<String, OpError> {
    let path = std::path::Path::new(file);
    std::fs::read_to_string(path).map_err(|e| {
        OpError::Io(format!(
            "cannot diff against the file on disk: {}",
            crate::paths::explain(path, crate::paths::Doing::Reading, &e)
        ))
    })
}
