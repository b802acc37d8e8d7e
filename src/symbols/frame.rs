//! Resolved frames and their WinDbg notation.

use serde::Serialize;
use std::fmt;

/// Where a frame's function name came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum SymbolOrigin {
    /// A PDB matched by CodeView identity.
    Pdb,
    /// The nearest preceding entry of a PE export table ("Defaulted to export symbols").
    Exports,
    /// A Breakpad `.sym` file matched by debug id.
    Breakpad,
    /// As printed in the debugger log the input came from.
    Log,
    /// No symbol: the frame is `module+0xrva` or a raw address.
    None,
}

impl fmt::Display for SymbolOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            SymbolOrigin::Pdb => "pdb",
            SymbolOrigin::Exports => "exports",
            SymbolOrigin::Breakpad => "breakpad",
            SymbolOrigin::Log => "log",
            SymbolOrigin::None => "none",
        })
    }
}

/// A source file and line, appended by WinDbg as ` [file @ line]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceLine {
    /// Source file path as recorded in the symbols.
    pub file: String,
    /// Line number.
    pub line: u32,
}

/// A function inlined at a frame's address (no frame of its own on the machine stack).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InlineFrame {
    /// The inlined function.
    pub symbol: String,
    /// Where in it the address lies.
    pub source_line: Option<SourceLine>,
}

/// One return address, resolved as far as the available symbols allow.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[non_exhaustive]
pub struct Frame {
    /// The return address.
    pub address: u64,
    /// The module's file name (`MSMAPI32.DLL`), when the address lies in a module.
    pub module: Option<String>,
    /// The module's name as frames print it (`MSMAPI32`).
    #[serde(skip)]
    pub module_frame_name: Option<String>,
    /// The function name, when symbols name one.
    pub symbol: Option<String>,
    /// Offset from the symbol's start, or from the module base when there is no symbol.
    pub offset: u64,
    /// Where the symbol came from.
    pub origin: SymbolOrigin,
    /// Source file and line, when the symbols have line information.
    pub source_line: Option<SourceLine>,
    /// Functions inlined at this address, innermost first (PDB and Breakpad symbols).
    pub inlined: Vec<InlineFrame>,
}

impl Frame {
    /// The frame as WinDbg lists it: one line per inlined function, innermost first, marked
    /// `(inline)`, then the frame itself.
    pub fn lines(&self) -> Vec<String> {
        let module = self.module_frame_name.as_deref().unwrap_or("?");
        let mut lines: Vec<String> = self
            .inlined
            .iter()
            .map(|inline| match &inline.source_line {
                Some(line) => format!(
                    "{module}!{} (inline) [{} @ {}]",
                    inline.symbol, line.file, line.line
                ),
                None => format!("{module}!{} (inline)", inline.symbol),
            })
            .collect();
        lines.push(self.to_string());
        lines
    }

    /// A frame in the former range of a module unloaded before the capture, as WinDbg prints
    /// it: `<Unloaded_NAME>+0xoff`. Blame can go to the unloaded module.
    pub fn in_unloaded_module(address: u64, module: &crate::snapshot::UnloadedModule) -> Frame {
        Frame {
            address,
            module: Some(module.name.clone()),
            module_frame_name: Some(module.frame_name()),
            symbol: None,
            offset: address - module.base,
            origin: SymbolOrigin::None,
            source_line: None,
            inlined: Vec::new(),
        }
    }

    /// A frame outside every known module.
    pub fn unattributed(address: u64) -> Frame {
        Frame {
            address,
            module: None,
            module_frame_name: None,
            symbol: None,
            offset: address,
            origin: SymbolOrigin::None,
            source_line: None,
            inlined: Vec::new(),
        }
    }
}

/// WinDbg notation: `module!symbol+0xoff`, `module+0xrva`, or the raw address; offsets in
/// lowercase hex without padding, ` [file @ line]` when known.
impl fmt::Display for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match (&self.module_frame_name, &self.symbol) {
            (Some(module), Some(symbol)) => {
                write!(f, "{module}!{symbol}")?;
                if self.offset != 0 {
                    write!(f, "+{:#x}", self.offset)?;
                }
            }
            (Some(module), None) => write!(f, "{module}+{:#x}", self.offset)?,
            (None, _) => write!(f, "{:#x}", self.address)?,
        }
        if let Some(line) = &self.source_line {
            write!(f, " [{} @ {}]", line.file, line.line)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(symbol: Option<&str>, offset: u64) -> Frame {
        Frame {
            address: 0x35f0_2a93,
            module: Some("MSMAPI32.DLL".to_string()),
            module_frame_name: Some("MSMAPI32".to_string()),
            symbol: symbol.map(str::to_string),
            offset,
            origin: SymbolOrigin::Exports,
            source_line: None,
            inlined: Vec::new(),
        }
    }

    #[test]
    fn prints_windbg_notation() {
        assert_eq!(
            frame(Some("SzGPrev"), 0x293).to_string(),
            "MSMAPI32!SzGPrev+0x293"
        );
        assert_eq!(frame(Some("SzGPrev"), 0).to_string(), "MSMAPI32!SzGPrev");
        assert_eq!(frame(None, 0x2a93).to_string(), "MSMAPI32+0x2a93");
        assert_eq!(
            Frame::unattributed(0x7ffb_0a98_e1d4).to_string(),
            "0x7ffb0a98e1d4"
        );
        let mut with_line = frame(Some("Acquire"), 0xb1);
        with_line.source_line = Some(SourceLine {
            file: "c:\\src\\pool.cpp".to_string(),
            line: 42,
        });
        assert_eq!(
            with_line.to_string(),
            "MSMAPI32!Acquire+0xb1 [c:\\src\\pool.cpp @ 42]"
        );
    }
}
