//! Hand-written error types. Each message says what went wrong, where (tag, byte offset,
//! MsgSeqNum) and what to do about it.

use crate::fixstr::FixStr;
use core::fmt;
use std::path::PathBuf;

/// A MsgType (35) value as it appeared on the wire, for error messages.
pub type MsgTypeText = FixStr<4>;

/// A received message that cannot be framed or read. Offsets count bytes from the first byte
/// (`8=`) of the message; a MsgSeqNum of 0 means it was not readable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The stream does not start with `8=FIX.4.4<SOH>`.
    BadBeginString {
        /// Offset of the first byte that differs.
        offset: usize,
    },
    /// Tag 9 is missing, not the second field, or not a decimal number.
    BadBodyLength {
        /// Offset of the offending byte.
        offset: usize,
    },
    /// `10=` does not follow where BodyLength (9) says the body ends.
    BodyLengthMismatch {
        /// The BodyLength the sender declared.
        declared: usize,
        /// Where `10=` was expected.
        offset: usize,
    },
    /// CheckSum (10) is not three digits followed by SOH.
    BadChecksumFormat {
        /// Offset of the CheckSum value.
        offset: usize,
    },
    /// CheckSum (10) differs from the byte sum modulo 256.
    WrongChecksum {
        /// The checksum of the bytes received.
        computed: u8,
        /// The value of tag 10.
        found: u16,
        /// Offset of the CheckSum value.
        offset: usize,
    },
    /// The message would not fit the receive buffer.
    TooLarge {
        /// Bytes the whole message needs.
        needed: usize,
        /// The receive buffer's capacity.
        max: usize,
    },
    /// A field is not `tag=value<SOH>` with a positive decimal tag and a non-empty value.
    Garbled {
        /// Offset of the start of the broken field.
        offset: usize,
        /// MsgSeqNum (34), 0 if not readable.
        seq: u64,
    },
    /// MsgType (35) is not the third field.
    MsgTypeNotThird {
        /// Offset of the third field.
        offset: usize,
    },
    /// A tag required for this message type is absent.
    MissingTag {
        /// The missing tag.
        tag: u32,
        /// The message's MsgType (35).
        msg_type: MsgTypeText,
        /// MsgSeqNum (34), 0 if not readable.
        seq: u64,
    },
    /// A value does not parse as the field's type or is not one of its allowed values.
    BadValue {
        /// The tag.
        tag: u32,
        /// What the value should have been ("integer", "price", "side 1 or 2", ...).
        expected: &'static str,
        /// Offset of the value.
        offset: usize,
        /// MsgSeqNum (34), 0 if not readable.
        seq: u64,
    },
    /// A MsgType (35) this crate does not handle.
    UnsupportedMsgType {
        /// The MsgType.
        msg_type: MsgTypeText,
        /// MsgSeqNum (34).
        seq: u64,
    },
}

impl DecodeError {
    /// The tag this error is about, if any (for a Reject's RefTagID).
    pub fn tag(&self) -> Option<u32> {
        match *self {
            Self::MissingTag { tag, .. } | Self::BadValue { tag, .. } => Some(tag),
            Self::UnsupportedMsgType { .. } => Some(35),
            _ => None,
        }
    }

    /// Whether the framing is lost (the stream must be resynchronised or closed), as opposed to
    /// one well-framed message with bad content.
    pub fn is_framing(&self) -> bool {
        matches!(
            self,
            Self::BadBeginString { .. }
                | Self::BadBodyLength { .. }
                | Self::BodyLengthMismatch { .. }
                | Self::BadChecksumFormat { .. }
                | Self::WrongChecksum { .. }
                | Self::TooLarge { .. }
        )
    }
}

struct Seq(u64);
impl fmt::Display for Seq {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            f.write_str("MsgSeqNum unknown")
        } else {
            write!(f, "MsgSeqNum {}", self.0)
        }
    }
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::BadBeginString { offset } => write!(
                f,
                "FIX message does not start with 8=FIX.4.4 (byte offset {offset}); the peer must \
                 speak FIX 4.4: check its BeginString setting"
            ),
            Self::BadBodyLength { offset } => write!(
                f,
                "BodyLength (9) missing, not the second field or not a number (byte offset \
                 {offset}); the message is discarded, check the peer's framing"
            ),
            Self::BodyLengthMismatch { declared, offset } => write!(
                f,
                "BodyLength (9) says {declared} but no 10= follows at byte offset {offset}; the \
                 message is discarded, check the peer's BodyLength computation"
            ),
            Self::BadChecksumFormat { offset } => write!(
                f,
                "CheckSum (10) at byte offset {offset} is not three digits and SOH; the message is \
                 discarded"
            ),
            Self::WrongChecksum { computed, found, offset } => write!(
                f,
                "CheckSum (10) at byte offset {offset} is {found:03} but the bytes sum to \
                 {computed:03} mod 256; the message is discarded, the peer will be asked to resend"
            ),
            Self::TooLarge { needed, max } => write!(
                f,
                "FIX message needs {needed} bytes, more than the receive buffer's {max}; raise \
                 SessionConfig::max_message_len or check the peer"
            ),
            Self::Garbled { offset, seq } => write!(
                f,
                "garbled field at byte offset {offset} ({}): expected tag=value with a decimal tag \
                 and a non-empty value",
                Seq(seq)
            ),
            Self::MsgTypeNotThird { offset } => write!(
                f,
                "MsgType (35) is not the third field (byte offset {offset}); the message is \
                 discarded"
            ),
            Self::MissingTag { tag, msg_type, seq } => write!(
                f,
                "required tag {tag} missing in MsgType {msg_type} ({}); the sender must add it",
                Seq(seq)
            ),
            Self::BadValue { tag, expected, offset, seq } => write!(
                f,
                "tag {tag} at byte offset {offset} ({}) is not a valid {expected}; the sender \
                 must correct the value",
                Seq(seq)
            ),
            Self::UnsupportedMsgType { msg_type, seq } => write!(
                f,
                "MsgType {msg_type} ({}) is not supported by lockstep-fix; the peer should not \
                 send it on this session",
                Seq(seq)
            ),
        }
    }
}

impl std::error::Error for DecodeError {}

/// A sequence-number store failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading, writing, syncing or renaming the file failed.
    Io {
        /// The file.
        path: PathBuf,
        /// What was being done ("write", "rename", ...).
        op: &'static str,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The file does not hold `next_sender=N` and `next_target=M` lines with positive numbers.
    Corrupt {
        /// The file.
        path: PathBuf,
        /// 1-based line number.
        line: usize,
    },
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { path, op, source } => write!(
                f,
                "sequence store {}: {op} failed: {source}; check the directory exists and is \
                 writable",
                path.display()
            ),
            Self::Corrupt { path, line } => write!(
                f,
                "sequence store {} line {line} is not next_sender=N / next_target=M; fix or \
                 delete the file (deleting resets both sequence numbers to 1)",
                path.display()
            ),
        }
    }
}

impl std::error::Error for StoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            Self::Corrupt { .. } => None,
        }
    }
}

/// A session operation failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum SessionError {
    /// Persisting sequence numbers failed; the session must not continue.
    Store(StoreError),
    /// An application message was sent while the session is not logged on.
    NotLoggedOn {
        /// The session's state at the time.
        state: crate::session::SessionState,
    },
    /// A sequence number would overflow u64 (never in practice: reset the session).
    SeqOverflow,
    /// `connect` was called on an acceptor, or on a session that is not disconnected.
    WrongRole,
}

impl fmt::Display for SessionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Store(e) => write!(f, "FIX session stopped: {e}"),
            Self::NotLoggedOn { state } => write!(
                f,
                "FIX session is {state:?}, not logged on; wait for Event::LoggedOn before sending \
                 orders"
            ),
            Self::SeqOverflow => f.write_str(
                "FIX MsgSeqNum would overflow; reset the session (ResetSeqNumFlag=Y on logon)",
            ),
            Self::WrongRole => f.write_str(
                "connect() is for an initiator whose session is disconnected; an acceptor waits \
                 for the peer's Logon",
            ),
        }
    }
}

impl std::error::Error for SessionError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Store(e) => Some(e),
            _ => None,
        }
    }
}

impl From<StoreError> for SessionError {
    fn from(e: StoreError) -> Self {
        Self::Store(e)
    }
}
