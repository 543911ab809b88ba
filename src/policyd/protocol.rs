//! Postfix's policy delegation protocol (SMTPD_POLICY_README): a request
//! is `name=value` lines ended by an empty line; the answer is
//! `action=...` and an empty line. One connection carries many requests.
//!
//! Reading is bounded three ways, so no client can hold memory or a task
//! for long: a request larger than `max_bytes` closes the connection (the
//! rest of it cannot be told from the next request), an idle connection
//! is closed after `idle`, and a request must be complete within
//! `request` of its first byte.

use std::time::Duration;

use tokio::io::{AsyncBufRead, AsyncBufReadExt, AsyncReadExt};
use tokio::time::{timeout, Instant};

/// One request's attributes, in the order received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Request {
    pub attrs: Vec<(String, String)>,
    /// Lines without `=` or with an empty name: counted and skipped (the
    /// request is still answered, fail open).
    pub malformed: usize,
}

impl Request {
    /// The first value of `name` (Postfix sends each name once).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Why a connection ends instead of getting an answer.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// The client closed between requests: the normal end.
    Closed,
    /// The client closed in the middle of a request.
    Truncated,
    /// No request began within the idle time.
    Idle,
    /// A request was not finished in time.
    Stalled,
    /// A request exceeded the size limit.
    TooLarge,
    Io(String),
}

#[derive(Debug, Clone, Copy)]
pub struct Bounds {
    pub max_bytes: usize,
    pub idle: Duration,
    pub request: Duration,
}

/// Read one request.
pub async fn read_request<R: AsyncBufRead + Unpin>(
    r: &mut R,
    b: Bounds,
    line: &mut Vec<u8>,
) -> Result<Request, End> {
    let mut req = Request::default();
    let mut used = 0usize;
    // The first line may wait for the idle limit; once it arrives the
    // whole request has `b.request`.
    let mut deadline: Option<Instant> = None;
    loop {
        line.clear();
        let budget = u64::try_from(b.max_bytes.saturating_sub(used) + 1).unwrap_or(u64::MAX);
        let wait = match deadline {
            None => b.idle,
            Some(d) => d.saturating_duration_since(Instant::now()),
        };
        let n = match timeout(wait, (&mut *r).take(budget).read_until(b'\n', line)).await {
            Err(_) if deadline.is_none() && line.is_empty() => return Err(End::Idle),
            Err(_) => return Err(End::Stalled),
            Ok(Err(e)) => return Err(End::Io(e.to_string())),
            Ok(Ok(n)) => n,
        };
        if deadline.is_none() {
            deadline = Some(Instant::now() + b.request);
        }
        used += n;
        if used > b.max_bytes {
            return Err(End::TooLarge);
        }
        if n == 0 || line.last() != Some(&b'\n') {
            return Err(if used == 0 && req.attrs.is_empty() && req.malformed == 0 {
                End::Closed
            } else {
                End::Truncated
            });
        }
        let text = trim_eol(line);
        if text.is_empty() {
            return Ok(req);
        }
        match std::str::from_utf8(text)
            .ok()
            .and_then(|t| t.split_once('='))
        {
            Some((name, value)) if !name.is_empty() => {
                req.attrs.push((name.to_string(), value.to_string()));
            }
            _ => req.malformed += 1,
        }
    }
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let l = line.strip_suffix(b"\n").unwrap_or(line);
    l.strip_suffix(b"\r").unwrap_or(l)
}

/// The answer for an action such as `DUNNO` or `DEFER_IF_PERMIT 4.7.1 ...`.
/// Line breaks in it would end the answer early: they become spaces.
pub fn reply(action: &str) -> String {
    let clean: String = action
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    format!("action={clean}\n\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bounds() -> Bounds {
        Bounds {
            max_bytes: 64,
            idle: Duration::from_secs(5),
            request: Duration::from_secs(5),
        }
    }

    async fn read(input: &[u8]) -> Vec<Result<Request, End>> {
        let mut r = tokio::io::BufReader::new(input);
        let mut out = Vec::new();
        let mut line = Vec::new();
        loop {
            let x = read_request(&mut r, bounds(), &mut line).await;
            let stop = x.is_err();
            out.push(x);
            if stop {
                return out;
            }
        }
    }

    #[tokio::test]
    async fn requests_split_at_blank_lines_and_bad_input_is_bounded() {
        let got = read(b"a=1\r\nb=x=y\n\nnoequals\n=v\nc=\n\n").await;
        assert_eq!(got.len(), 3);
        let first = got[0].as_ref().unwrap();
        assert_eq!(first.get("a"), Some("1"));
        assert_eq!(first.get("b"), Some("x=y"));
        let second = got[1].as_ref().unwrap();
        assert_eq!(second.malformed, 2);
        assert_eq!(second.get("c"), Some(""));
        assert_eq!(got[2], Err(End::Closed));
        assert_eq!(read(b"a=1\nb=2").await[0], Err(End::Truncated));
        let big = format!("a={}\n\n", "x".repeat(100));
        assert_eq!(read(big.as_bytes()).await[0], Err(End::TooLarge));
        let many = "a=1\n".repeat(20) + "\n";
        assert_eq!(read(many.as_bytes()).await[0], Err(End::TooLarge));
        assert_eq!(
            read(b"\xff\xfe=1\n\n").await[0].as_ref().unwrap().malformed,
            1
        );
        assert_eq!(reply("DEFER x\ny"), "action=DEFER x y\n\n");
    }
}
