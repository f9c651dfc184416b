//! The tag=value codec: an encoder into reusable buffers and a framer/decoder over a bounded
//! receive buffer that hands out borrowed views. Nothing here allocates once the buffers have
//! reached their working size.

use crate::error::{DecodeError, MsgTypeText};
use crate::fixstr::FixStr;
use lockstep_sdk::{Price, Qty, civil_from_days, days_from_civil};

/// The field separator, SOH.
pub const SOH: u8 = 0x01;
/// `8=FIX.4.4<SOH>`: every message starts with these bytes.
pub const BEGIN_STRING: &[u8] = b"8=FIX.4.4\x01";
/// Bytes after the body: `10=ccc<SOH>`.
const TRAILER_LEN: usize = 7;
/// Most digits accepted in BodyLength (9): a body of up to 9,999,999 bytes.
const MAX_BODY_DIGITS: usize = 7;

/// Writes the decimal digits of `v` into `tmp` and returns them.
pub(crate) fn format_u64(mut v: u64, tmp: &mut [u8; 20]) -> &[u8] {
    let mut i = tmp.len();
    loop {
        i -= 1;
        tmp[i] = b'0' + (v % 10) as u8;
        v /= 10;
        if v == 0 {
            break;
        }
    }
    &tmp[i..]
}

/// Appends a fixed-point mantissa with 8 decimals as minimal decimal text (`579.4`, `-0.001`,
/// `100`): exact, no floats.
fn push_fixed(out: &mut Vec<u8>, raw: i64) {
    if raw < 0 {
        out.push(b'-');
    }
    let abs = raw.unsigned_abs();
    let one = lockstep_sdk::ONE.unsigned_abs();
    let mut tmp = [0u8; 20];
    out.extend_from_slice(format_u64(abs / one, &mut tmp));
    let mut frac = abs % one;
    if frac != 0 {
        out.push(b'.');
        let mut digits = [b'0'; 8];
        for d in digits.iter_mut().rev() {
            *d = b'0' + (frac % 10) as u8;
            frac /= 10;
        }
        let used = digits.iter().rposition(|&d| d != b'0').map_or(0, |p| p + 1);
        out.extend_from_slice(&digits[..used]);
    }
}

/// Appends `now_ns` (nanoseconds since 1970-01-01 UTC) as `YYYYMMDD-HH:MM:SS.sss`. Times
/// before 1970 or after 9999 are clamped to those years' ends.
pub(crate) fn push_utc_timestamp(out: &mut Vec<u8>, now_ns: i64) {
    const MAX_MS: i64 = 253_402_300_799_999; // 9999-12-31 23:59:59.999
    let ms = now_ns.div_euclid(1_000_000).clamp(0, MAX_MS);
    let secs = ms / 1000;
    let (y, m, d) = civil_from_days(secs / 86_400).unwrap_or((1970, 1, 1));
    let sod = secs % 86_400;
    let put = |out: &mut Vec<u8>, v: i64, width: usize| {
        let mut tmp = [0u8; 20];
        let digits = format_u64(v.unsigned_abs(), &mut tmp);
        for _ in digits.len()..width {
            out.push(b'0');
        }
        out.extend_from_slice(digits);
    };
    put(out, i64::from(y), 4);
    put(out, i64::from(m), 2);
    put(out, i64::from(d), 2);
    out.push(b'-');
    put(out, sod / 3600, 2);
    out.push(b':');
    put(out, sod / 60 % 60, 2);
    out.push(b':');
    put(out, sod % 60, 2);
    out.push(b'.');
    put(out, ms % 1000, 3);
}

/// The header fields of one outgoing message. BeginString, BodyLength and CheckSum are added by
/// the encoder.
#[derive(Debug, Clone, Copy)]
pub struct Header<'a> {
    /// MsgType (35), e.g. `b"D"`.
    pub msg_type: &'a [u8],
    /// SenderCompID (49).
    pub sender: &'a [u8],
    /// TargetCompID (56).
    pub target: &'a [u8],
    /// MsgSeqNum (34).
    pub seq: u64,
    /// SendingTime (52), nanoseconds since the Unix epoch, UTC.
    pub sending_time_ns: i64,
    /// For a resent message: PossDupFlag (43) = Y and OrigSendingTime (122) from this value.
    pub orig_sending_time_ns: Option<i64>,
}

/// Builds messages into two reusable buffers: after the first few messages no call allocates.
///
/// Call [`Encoder::begin`], then the field methods in the order the fields should appear, then
/// [`Encoder::finish`] for the complete wire bytes with BodyLength and CheckSum.
#[derive(Debug, Clone)]
pub struct Encoder {
    body: Vec<u8>,
    out: Vec<u8>,
}

impl Default for Encoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Encoder {
    /// An encoder with 1 KiB buffers (they grow, once, for larger messages).
    pub fn new() -> Self {
        Self { body: Vec::with_capacity(1024), out: Vec::with_capacity(1024) }
    }

    /// Starts a message: writes 35, 49, 56, 34, 52 and, for a resend, 43 and 122.
    pub fn begin(&mut self, h: &Header<'_>) {
        self.body.clear();
        self.str(35, h.msg_type);
        self.str(49, h.sender);
        self.str(56, h.target);
        self.u64(34, h.seq);
        if h.orig_sending_time_ns.is_some() {
            self.char(43, b'Y');
        }
        self.timestamp(52, h.sending_time_ns);
        if let Some(orig) = h.orig_sending_time_ns {
            self.timestamp(122, orig);
        }
    }

    fn tag(&mut self, tag: u32) {
        let mut tmp = [0u8; 20];
        self.body.extend_from_slice(format_u64(u64::from(tag), &mut tmp));
        self.body.push(b'=');
    }

    /// A string field. The value must not contain SOH (the [`FixStr`] types guarantee that).
    /// FIX has no empty fields (`58=` is garbled to every parser): an empty value is left out,
    /// so an optional field reads back as absent.
    pub fn str(&mut self, tag: u32, value: &[u8]) {
        if value.is_empty() {
            return;
        }
        self.tag(tag);
        self.body.extend_from_slice(value);
        self.body.push(SOH);
    }

    /// A single-character field.
    pub fn char(&mut self, tag: u32, value: u8) {
        self.str(tag, &[value]);
    }

    /// An unsigned integer field.
    pub fn u64(&mut self, tag: u32, value: u64) {
        let mut tmp = [0u8; 20];
        let digits = format_u64(value, &mut tmp);
        self.tag(tag);
        self.body.extend_from_slice(digits);
        self.body.push(SOH);
    }

    /// A price field, exact decimal text.
    pub fn price(&mut self, tag: u32, value: Price) {
        self.tag(tag);
        push_fixed(&mut self.body, value.raw());
        self.body.push(SOH);
    }

    /// A quantity field, exact decimal text.
    pub fn qty(&mut self, tag: u32, value: Qty) {
        self.tag(tag);
        push_fixed(&mut self.body, value.raw());
        self.body.push(SOH);
    }

    /// A UTCTimestamp field with milliseconds from nanoseconds since the epoch.
    pub fn timestamp(&mut self, tag: u32, ns: i64) {
        self.tag(tag);
        push_utc_timestamp(&mut self.body, ns);
        self.body.push(SOH);
    }

    /// Completes the message: returns `8=FIX.4.4|9=len|<body>10=ccc|`, valid until the next
    /// call on this encoder.
    pub fn finish(&mut self) -> &[u8] {
        self.out.clear();
        self.out.extend_from_slice(BEGIN_STRING);
        self.out.extend_from_slice(b"9=");
        let mut tmp = [0u8; 20];
        self.out.extend_from_slice(format_u64(self.body.len() as u64, &mut tmp));
        self.out.push(SOH);
        self.out.extend_from_slice(&self.body);
        let sum = checksum(&self.out);
        self.out.extend_from_slice(b"10=");
        self.out.extend_from_slice(&[b'0' + sum / 100, b'0' + sum / 10 % 10, b'0' + sum % 10]);
        self.out.push(SOH);
        &self.out
    }
}

/// The FIX checksum: the sum of the bytes modulo 256.
pub fn checksum(bytes: &[u8]) -> u8 {
    bytes.iter().fold(0u8, |acc, &b| acc.wrapping_add(b))
}

/// Looks for one complete message at the start of `buf`. `Ok(None)`: more bytes are needed.
/// `Ok(Some(n))`: the first `n` bytes are a message with a valid BeginString, BodyLength and
/// CheckSum.
pub fn frame(buf: &[u8], max_len: usize) -> Result<Option<usize>, DecodeError> {
    let n = buf.len().min(BEGIN_STRING.len());
    if let Some(offset) = (0..n).find(|&i| buf[i] != BEGIN_STRING[i]) {
        return Err(DecodeError::BadBeginString { offset });
    }
    let tag9 = BEGIN_STRING.len();
    for (i, &want) in b"9=".iter().enumerate() {
        match buf.get(tag9 + i) {
            None => return Ok(None),
            Some(&b) if b != want => return Err(DecodeError::BadBodyLength { offset: tag9 + i }),
            Some(_) => {}
        }
    }
    let digits_at = tag9 + 2;
    let mut body_len: usize = 0;
    let mut i = digits_at;
    loop {
        let Some(&b) = buf.get(i) else { return Ok(None) };
        if b == SOH && i > digits_at {
            break;
        }
        if !b.is_ascii_digit() || i - digits_at >= MAX_BODY_DIGITS {
            return Err(DecodeError::BadBodyLength { offset: i });
        }
        body_len = body_len * 10 + usize::from(b - b'0');
        i += 1;
    }
    let body_start = i + 1;
    let too_large = DecodeError::TooLarge { needed: usize::MAX, max: max_len };
    let body_end = body_start.checked_add(body_len).ok_or(too_large)?;
    let total = body_end.checked_add(TRAILER_LEN).ok_or(too_large)?;
    if total > max_len {
        return Err(DecodeError::TooLarge { needed: total, max: max_len });
    }
    if buf.len() < total {
        return Ok(None);
    }
    if body_len == 0 || buf[body_end - 1] != SOH || &buf[body_end..body_end + 3] != b"10=" {
        return Err(DecodeError::BodyLengthMismatch { declared: body_len, offset: body_end });
    }
    let cs = &buf[body_end + 3..total];
    if !cs[..3].iter().all(u8::is_ascii_digit) || cs[3] != SOH {
        return Err(DecodeError::BadChecksumFormat { offset: body_end + 3 });
    }
    let found = cs[..3].iter().fold(0u16, |acc, &d| acc * 10 + u16::from(d - b'0'));
    let computed = checksum(&buf[..body_end]);
    if found != u16::from(computed) {
        return Err(DecodeError::WrongChecksum { computed, found, offset: body_end + 3 });
    }
    Ok(Some(total))
}

/// A bounded receive buffer that cuts the byte stream into messages. Partial reads are fine:
/// push whatever arrived and ask for messages until there are none.
#[derive(Debug, Clone)]
pub struct Framer {
    buf: Vec<u8>,
    start: usize,
    max: usize,
}

impl Framer {
    /// A framer for messages of at most `max_message_len` bytes (the buffer's capacity).
    pub fn new(max_message_len: usize) -> Self {
        Self { buf: Vec::with_capacity(max_message_len), start: 0, max: max_message_len }
    }

    /// Copies as much of `data` as fits and returns how many bytes were taken. Take messages
    /// out with [`Framer::next_message`] and push the rest.
    pub fn push(&mut self, data: &[u8]) -> usize {
        if self.start > 0 {
            self.buf.drain(..self.start);
            self.start = 0;
        }
        let n = data.len().min(self.max - self.buf.len());
        self.buf.extend_from_slice(&data[..n]);
        n
    }

    /// Bytes buffered but not yet returned as messages.
    pub fn buffered(&self) -> usize {
        self.buf.len() - self.start
    }

    /// Forgets everything buffered (on reconnect).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.start = 0;
    }

    /// The next complete message, `None` when more bytes are needed. On a framing error the bad
    /// bytes are skipped up to the next `8=FIX.4.4<SOH>` and the error is returned once.
    pub fn next_message(&mut self) -> Option<Result<MessageView<'_>, DecodeError>> {
        let avail = &self.buf[self.start..];
        if avail.is_empty() {
            return None;
        }
        match frame(avail, self.max) {
            Ok(None) => None,
            Ok(Some(n)) => {
                let s = self.start;
                self.start += n;
                Some(MessageView::parse(&self.buf[s..s + n]))
            }
            Err(e) => {
                self.start += resync_skip(avail);
                Some(Err(e))
            }
        }
    }
}

/// How many bytes to drop after a framing error: up to the next BeginString, else up to the
/// last SOH (keeping a possibly partial BeginString), else everything. Always at least 1.
fn resync_skip(avail: &[u8]) -> usize {
    let next = avail[1..].windows(BEGIN_STRING.len()).position(|w| w == BEGIN_STRING);
    match next {
        Some(p) => p + 1,
        None => match avail.iter().rposition(|&b| b == SOH) {
            Some(p) if avail.len() - (p + 1) < BEGIN_STRING.len() => p + 1,
            _ => avail.len(),
        },
    }
}

/// One framed message, borrowed from the receive buffer: fields in wire order, lookups by tag
/// without allocation (a linear scan over the few hundred bytes of a message).
#[derive(Debug, Clone, Copy)]
pub struct MessageView<'a> {
    raw: &'a [u8],
    msg_type: (usize, usize),
    seq: u64,
}

impl<'a> MessageView<'a> {
    /// Checks that every field is `tag=value<SOH>` and that 35 is the third field. `raw` must
    /// already be framed (see [`frame`]).
    pub fn parse(raw: &'a [u8]) -> Result<Self, DecodeError> {
        let seq_hint = lenient_seq(raw);
        let mut pos = 0;
        let mut index = 0;
        let mut msg_type = (0, 0);
        while pos < raw.len() {
            let (tag, v_start, v_end) =
                split_field(raw, pos).ok_or(DecodeError::Garbled { offset: pos, seq: seq_hint })?;
            if index == 2 {
                if tag != 35 {
                    return Err(DecodeError::MsgTypeNotThird { offset: pos });
                }
                msg_type = (v_start, v_end);
            }
            index += 1;
            pos = v_end + 1;
        }
        let mut view = Self { raw, msg_type, seq: 0 };
        view.seq = match view.find(34) {
            Some((offset, v)) => parse_u64(v).filter(|&s| s > 0).ok_or(DecodeError::BadValue {
                tag: 34,
                expected: "MsgSeqNum (positive integer)",
                offset,
                seq: 0,
            })?,
            None => 0,
        };
        Ok(view)
    }

    /// The whole message as received.
    pub fn raw(&self) -> &'a [u8] {
        self.raw
    }

    /// MsgType (35).
    pub fn msg_type(&self) -> &'a [u8] {
        &self.raw[self.msg_type.0..self.msg_type.1]
    }

    /// MsgType (35) as text for error messages.
    pub fn msg_type_text(&self) -> MsgTypeText {
        FixStr::lossy(self.msg_type())
    }

    /// MsgSeqNum (34), 0 when absent.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// The fields in wire order, including 8, 9 and 10.
    pub fn fields(&self) -> Fields<'a> {
        Fields { raw: self.raw, pos: 0 }
    }

    /// The value of the first occurrence of `tag`.
    pub fn get(&self, tag: u32) -> Option<&'a [u8]> {
        self.find(tag).map(|(_, v)| v)
    }

    /// The byte offset and value of the first occurrence of `tag`.
    pub fn find(&self, tag: u32) -> Option<(usize, &'a [u8])> {
        let mut pos = 0;
        while let Some((t, s, e)) = split_field(self.raw, pos) {
            if t == tag {
                return Some((s, &self.raw[s..e]));
            }
            pos = e + 1;
        }
        None
    }
}

/// Iterator over `(tag, value)` of a [`MessageView`].
#[derive(Debug, Clone)]
pub struct Fields<'a> {
    raw: &'a [u8],
    pos: usize,
}

impl<'a> Iterator for Fields<'a> {
    type Item = (u32, &'a [u8]);
    fn next(&mut self) -> Option<Self::Item> {
        let (t, s, e) = split_field(self.raw, self.pos)?;
        self.pos = e + 1;
        Some((t, &self.raw[s..e]))
    }
}

/// Splits the field starting at `pos`: `(tag, value_start, value_end)` where `value_end` is
/// the SOH. `None` if the field is malformed or `pos` is at the end.
fn split_field(raw: &[u8], pos: usize) -> Option<(u32, usize, usize)> {
    let rest = raw.get(pos..)?;
    let eq = rest.iter().position(|&b| b == b'=')?;
    let tag_bytes = &rest[..eq];
    if tag_bytes.is_empty() || tag_bytes.len() > 9 || tag_bytes[0] == b'0' {
        return None;
    }
    let tag = tag_bytes
        .iter()
        .try_fold(0u32, |acc, &b| b.is_ascii_digit().then(|| acc * 10 + u32::from(b - b'0')))?;
    let v_start = pos + eq + 1;
    let len = raw[v_start..].iter().position(|&b| b == SOH)?;
    if len == 0 {
        return None;
    }
    Some((tag, v_start, v_start + len))
}

/// MsgSeqNum found by a forgiving scan, for error messages about garbled messages.
fn lenient_seq(raw: &[u8]) -> u64 {
    let Some(p) = raw.windows(4).position(|w| w == b"\x0134=") else { return 0 };
    let digits = raw[p + 4..].iter().take_while(|b| b.is_ascii_digit()).count();
    parse_u64(&raw[p + 4..p + 4 + digits]).unwrap_or(0)
}

/// A non-negative decimal integer without sign, checked for overflow.
pub(crate) fn parse_u64(v: &[u8]) -> Option<u64> {
    if v.is_empty() || v.len() > 20 {
        return None;
    }
    v.iter().try_fold(0u64, |acc, &b| {
        if !b.is_ascii_digit() {
            return None;
        }
        acc.checked_mul(10)?.checked_add(u64::from(b - b'0'))
    })
}

/// A decimal with at most 8 places (`-12.5`, `100`) as a fixed-point mantissa; no floats.
pub(crate) fn parse_fixed(v: &[u8]) -> Option<i64> {
    let (neg, digits) = match v.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, v),
    };
    let dot = digits.iter().position(|&b| b == b'.');
    let (int, frac) = match dot {
        Some(p) => (&digits[..p], &digits[p + 1..]),
        None => (digits, &[][..]),
    };
    if int.is_empty() && frac.is_empty() {
        return None;
    }
    let frac_used = frac.iter().rposition(|&b| b != b'0').map_or(0, |p| p + 1);
    if frac_used > 8 || !frac.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let whole = if int.is_empty() { 0 } else { i64::try_from(parse_u64(int)?).ok()? };
    let mut f: i64 = 0;
    for i in 0..8 {
        let d = frac.get(i).filter(|_| i < frac_used).map_or(0, |&b| i64::from(b - b'0'));
        f = f * 10 + d;
    }
    let m = whole.checked_mul(lockstep_sdk::ONE)?.checked_add(f)?;
    Some(if neg { -m } else { m })
}

/// A UTCTimestamp `YYYYMMDD-HH:MM:SS[.fff...]` as nanoseconds since the epoch.
pub(crate) fn parse_utc_timestamp(v: &[u8]) -> Option<i64> {
    if v.len() < 17 || v[8] != b'-' || v[11] != b':' || v[14] != b':' {
        return None;
    }
    let num = |r: core::ops::Range<usize>| parse_u64(&v[r]).and_then(|x| i64::try_from(x).ok());
    let (y, mo, d) = (num(0..4)?, num(4..6)?, num(6..8)?);
    let (h, mi, s) = (num(9..11)?, num(12..14)?, num(15..17)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || s > 60 {
        return None;
    }
    let mut frac_ns = 0i64;
    if v.len() > 17 {
        let frac = &v[18..];
        if v[17] != b'.' || frac.is_empty() || frac.len() > 9 {
            return None;
        }
        let f = i64::try_from(parse_u64(frac)?).ok()?;
        frac_ns = f * 10i64.pow(9 - frac.len() as u32);
    }
    let days = days_from_civil(i32::try_from(y).ok()?, mo as u32, d as u32);
    let secs = days.checked_mul(86_400)?.checked_add(h * 3600 + mi * 60 + s)?;
    secs.checked_mul(1_000_000_000)?.checked_add(frac_ns)
}

#[cfg(test)]
mod tests;
