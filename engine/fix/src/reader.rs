//! Typed field access on a [`MessageView`] with errors that name the tag, offset and MsgSeqNum.

use crate::codec::{MessageView, parse_fixed, parse_u64, parse_utc_timestamp};
use crate::error::{DecodeError, MsgTypeText};
use crate::fixstr::FixStr;
use lockstep_sdk::{Price, Qty};

/// Reads fields of one message for one message type.
pub(crate) struct Reader<'a> {
    view: MessageView<'a>,
    msg_type: MsgTypeText,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(view: MessageView<'a>) -> Self {
        Self { view, msg_type: view.msg_type_text() }
    }

    pub(crate) fn bad(&self, tag: u32, offset: usize, expected: &'static str) -> DecodeError {
        DecodeError::BadValue { tag, expected, offset, seq: self.view.seq() }
    }

    pub(crate) fn opt(&self, tag: u32) -> Option<(usize, &'a [u8])> {
        self.view.find(tag)
    }

    pub(crate) fn req(&self, tag: u32) -> Result<(usize, &'a [u8]), DecodeError> {
        self.view.find(tag).ok_or(DecodeError::MissingTag {
            tag,
            msg_type: self.msg_type,
            seq: self.view.seq(),
        })
    }

    pub(crate) fn missing(&self, tag: u32) -> DecodeError {
        DecodeError::MissingTag { tag, msg_type: self.msg_type, seq: self.view.seq() }
    }

    pub(crate) fn str_at<const N: usize>(
        &self,
        tag: u32,
        (off, v): (usize, &[u8]),
    ) -> Result<FixStr<N>, DecodeError> {
        FixStr::from_bytes(v).ok_or(self.bad(tag, off, "printable string within capacity"))
    }

    pub(crate) fn str<const N: usize>(&self, tag: u32) -> Result<FixStr<N>, DecodeError> {
        self.str_at(tag, self.req(tag)?)
    }

    pub(crate) fn opt_str<const N: usize>(
        &self,
        tag: u32,
    ) -> Result<Option<FixStr<N>>, DecodeError> {
        self.opt(tag).map(|f| self.str_at(tag, f)).transpose()
    }

    pub(crate) fn opt_u32(&self, tag: u32) -> Result<Option<u32>, DecodeError> {
        self.opt(tag)
            .map(|(off, v)| {
                parse_u64(v).and_then(|x| u32::try_from(x).ok()).ok_or(self.bad(
                    tag,
                    off,
                    "integer below 2^32",
                ))
            })
            .transpose()
    }

    fn fixed_at(&self, tag: u32, (off, v): (usize, &[u8])) -> Result<i64, DecodeError> {
        parse_fixed(v).ok_or(self.bad(tag, off, "decimal with at most 8 places"))
    }

    pub(crate) fn price(&self, tag: u32) -> Result<Price, DecodeError> {
        self.fixed_at(tag, self.req(tag)?).map(Price)
    }

    pub(crate) fn opt_price(&self, tag: u32) -> Result<Option<Price>, DecodeError> {
        self.opt(tag).map(|f| self.fixed_at(tag, f).map(Price)).transpose()
    }

    pub(crate) fn qty(&self, tag: u32) -> Result<Qty, DecodeError> {
        let (off, v) = self.req(tag)?;
        let q = self.fixed_at(tag, (off, v))?;
        if q < 0 {
            return Err(self.bad(tag, off, "non-negative quantity"));
        }
        Ok(Qty(q))
    }

    pub(crate) fn opt_qty(&self, tag: u32) -> Result<Option<Qty>, DecodeError> {
        if self.opt(tag).is_none() {
            return Ok(None);
        }
        self.qty(tag).map(Some)
    }

    pub(crate) fn time(&self, tag: u32) -> Result<i64, DecodeError> {
        let (off, v) = self.req(tag)?;
        parse_utc_timestamp(v).ok_or(self.bad(tag, off, "UTCTimestamp YYYYMMDD-HH:MM:SS[.sss]"))
    }

    /// A one-character enumerated field decoded by `f`.
    pub(crate) fn enum_at<T>(
        &self,
        tag: u32,
        (off, v): (usize, &[u8]),
        expected: &'static str,
        f: impl Fn(u8) -> Option<T>,
    ) -> Result<T, DecodeError> {
        match v {
            [b] => f(*b),
            _ => None,
        }
        .ok_or(self.bad(tag, off, expected))
    }

    pub(crate) fn enum_req<T>(
        &self,
        tag: u32,
        expected: &'static str,
        f: impl Fn(u8) -> Option<T>,
    ) -> Result<T, DecodeError> {
        self.enum_at(tag, self.req(tag)?, expected, f)
    }

    pub(crate) fn enum_opt<T>(
        &self,
        tag: u32,
        expected: &'static str,
        f: impl Fn(u8) -> Option<T>,
    ) -> Result<Option<T>, DecodeError> {
        self.opt(tag).map(|fv| self.enum_at(tag, fv, expected, f)).transpose()
    }
}
