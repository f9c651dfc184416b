//! Makes a module's whole state reachable from the host: every mutable global the module
//! defines is exported under a reserved name, so a checkpoint can read and restore it on either
//! tier (wasmi and wasmtime only expose exported globals). Memory is imported already. The
//! rewrite adds export entries and changes nothing else, so the code the tiers run is the same.

use std::borrow::Cow;
use wasmparser::{BinaryReader, GlobalSectionReader, ImportSectionReader, TypeRef, ValType};

/// Prefix of the export names given to a module's mutable globals (`lockstep:global:<index>`).
pub(crate) const GLOBAL_EXPORT: &str = "lockstep:global:";

/// The type of a mutable global, as a checkpoint records it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum GlobalKind {
    I32 = 1,
    I64 = 2,
    F32 = 3,
    F64 = 4,
}

impl GlobalKind {
    /// The kind of a global of value type `v`, if a checkpoint can hold it.
    pub(crate) fn of(v: crate::guest::ValKind) -> Option<Self> {
        use crate::guest::ValKind as V;
        match v {
            V::I32 => Some(Self::I32),
            V::I64 => Some(Self::I64),
            V::F32 => Some(Self::F32),
            V::F64 => Some(Self::F64),
            V::Other => None,
        }
    }

    /// The kind stored under `tag` in a checkpoint.
    pub(crate) fn from_tag(tag: u8) -> Option<Self> {
        [Self::I32, Self::I64, Self::F32, Self::F64].into_iter().find(|k| *k as u8 == tag)
    }
}

/// A mutable global: its index in the module's global space and its type.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct MutableGlobal {
    pub(crate) index: u32,
    pub(crate) kind: GlobalKind,
}

/// One section of a module: id and the byte range of its body.
pub(crate) struct Section {
    pub(crate) id: u8,
    pub(crate) start: usize,
    pub(crate) body: std::ops::Range<usize>,
}

/// Exports every mutable global of `wasm`. Bytes that are not a well-formed module are passed
/// through untouched, for the backend's validator to refuse with its own message.
pub(crate) fn export_globals(wasm: &[u8]) -> Cow<'_, [u8]> {
    let untouched = || Cow::Borrowed(wasm);
    let Some(sections) = sections(wasm) else { return untouched() };
    let mut globals = Vec::new();
    let mut imported = 0u32;
    for s in &sections {
        let reader = BinaryReader::new(&wasm[s.body.clone()], s.body.start);
        match s.id {
            2 => imported = imported_globals(reader).unwrap_or(0),
            6 => match mutable_globals(reader, imported) {
                Some(g) => globals = g,
                None => return untouched(),
            },
            _ => {}
        }
    }
    if globals.is_empty() {
        return untouched();
    }
    let Some(export) = sections.iter().find(|s| s.id == 7) else {
        // The ABI requires exports; the load checks name the missing one.
        return untouched();
    };
    let mut body = &wasm[export.body.clone()];
    let Some(count) = read_leb(&mut body) else { return untouched() };
    let total = u32::try_from(globals.len()).ok().and_then(|n| count.checked_add(n));
    let Some(total) = total else { return untouched() };
    let mut section = Vec::with_capacity(body.len() + 5 + globals.len() * 24);
    write_leb(&mut section, total);
    section.extend_from_slice(body);
    for g in &globals {
        let name = format!("{GLOBAL_EXPORT}{}", g.index);
        write_leb(&mut section, name.len() as u32);
        section.extend_from_slice(name.as_bytes());
        section.push(0x03); // export kind: global
        write_leb(&mut section, g.index);
    }
    let mut out = Vec::with_capacity(wasm.len() + section.len());
    out.extend_from_slice(&wasm[..export.start]);
    out.push(7);
    write_leb(&mut out, section.len() as u32);
    out.extend_from_slice(&section);
    out.extend_from_slice(&wasm[export.body.end..]);
    Cow::Owned(out)
}

/// The module's sections, or `None` if the framing is broken.
pub(crate) fn sections(wasm: &[u8]) -> Option<Vec<Section>> {
    if wasm.len() < 8 || &wasm[..4] != b"\0asm" {
        return None;
    }
    let mut out = Vec::new();
    let mut at = 8;
    while at < wasm.len() {
        let start = at;
        let id = wasm[at];
        let mut rest = &wasm[at + 1..];
        let before = rest.len();
        let size = read_leb(&mut rest)? as usize;
        let body_start = at + 1 + (before - rest.len());
        let end = body_start.checked_add(size).filter(|e| *e <= wasm.len())?;
        out.push(Section { id, start, body: body_start..end });
        at = end;
    }
    Some(out)
}

fn imported_globals(reader: BinaryReader<'_>) -> Option<u32> {
    let imports = ImportSectionReader::new(reader).ok()?;
    let mut n = 0u32;
    for import in imports.into_imports() {
        if matches!(import.ok()?.ty, TypeRef::Global(_)) {
            n = n.checked_add(1)?;
        }
    }
    Some(n)
}

fn mutable_globals(reader: BinaryReader<'_>, first: u32) -> Option<Vec<MutableGlobal>> {
    let mut out = Vec::new();
    for (i, global) in GlobalSectionReader::new(reader).ok()?.into_iter().enumerate() {
        let ty = global.ok()?.ty;
        if !ty.mutable {
            continue;
        }
        let kind = match ty.content_type {
            ValType::I32 => GlobalKind::I32,
            ValType::I64 => GlobalKind::I64,
            ValType::F32 => GlobalKind::F32,
            ValType::F64 => GlobalKind::F64,
            // A mutable v128 or reference global: the load checks refuse both (no SIMD;
            // `portable` refuses mutable references), so leave the module for them to name.
            _ => return None,
        };
        out.push(MutableGlobal { index: first.checked_add(u32::try_from(i).ok()?)?, kind });
    }
    Some(out)
}

/// Reads an unsigned LEB128 `u32`, advancing `bytes`.
fn read_leb(bytes: &mut &[u8]) -> Option<u32> {
    let mut value = 0u64;
    for (i, b) in bytes.iter().enumerate().take(5) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return u32::try_from(value).ok();
        }
    }
    None
}

fn write_leb(out: &mut Vec<u8>, mut v: u32) {
    loop {
        let byte = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leb_round_trips() {
        for v in [0, 1, 127, 128, 300, 16_384, u32::MAX] {
            let mut b = Vec::new();
            write_leb(&mut b, v);
            let mut s = &b[..];
            assert_eq!(read_leb(&mut s), Some(v));
            assert!(s.is_empty());
        }
    }

    #[test]
    fn mutable_globals_are_exported_and_the_rest_kept() {
        let wasm = wat::parse_str(
            r#"(module
                (import "lockstep" "memory" (memory 1))
                (global $sp (mut i32) (i32.const 1024))
                (global $k i64 (i64.const 7))
                (global $x (mut f64) (f64.const 1.5))
                (func (export "f") (result i32) global.get $sp))"#,
        )
        .unwrap();
        let out = export_globals(&wasm);
        let text = wasmparser::Parser::new(0)
            .parse_all(&out)
            .filter_map(|p| match p.unwrap() {
                wasmparser::Payload::ExportSection(r) => {
                    Some(r.into_iter().map(|e| e.unwrap().name.to_owned()).collect::<Vec<_>>())
                }
                _ => None,
            })
            .next()
            .unwrap();
        assert_eq!(text, ["f", "lockstep:global:0", "lockstep:global:2"]);
        let engine = wasmi::Engine::default();
        let module = wasmi::Module::new(&engine, &out[..]).unwrap();
        assert_eq!(
            crate::interp::globals(&module),
            [
                MutableGlobal { index: 0, kind: GlobalKind::I32 },
                MutableGlobal { index: 2, kind: GlobalKind::F64 }
            ]
        );
    }

    #[test]
    fn broken_framing_passes_through() {
        let junk = b"\0asm\x01\0\0\0\x07\xff\xff".to_vec();
        assert_eq!(&export_globals(&junk)[..], &junk[..]);
    }
}
