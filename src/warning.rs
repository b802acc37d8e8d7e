//! Warnings: what the evidence cannot support, as records with a stable code a script can
//! act on, the sentence a person reads, and where known the file and the file offset.

use serde::{Deserialize, Serialize};

/// One warning of a report (JSON `{code, message, file, offset}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Warning {
    /// What kind of limit this is; stable across releases (see [`WarningCode`]).
    pub code: WarningCode,
    /// The sentence, as the text report prints it.
    pub message: String,
    /// The input it is about, when it is about one input of several.
    pub file: Option<String>,
    /// The file offset of the structure it is about, when there is one.
    pub offset: Option<u64>,
}

impl Warning {
    /// A warning with no file or offset.
    pub fn new(code: WarningCode, message: impl Into<String>) -> Warning {
        Warning {
            code,
            message: message.into(),
            file: None,
            offset: None,
        }
    }

    /// The same warning, about the input `file`.
    pub fn in_file(mut self, file: impl Into<String>) -> Warning {
        self.file = Some(file.into());
        self
    }

    /// The same warning, about the structure at file offset `offset`.
    pub fn at(mut self, offset: u64) -> Warning {
        self.offset = Some(offset);
        self
    }

    /// Whether the warning changes what the report concludes (reports show these first).
    pub fn changes_conclusion(&self) -> bool {
        self.code.changes_conclusion()
    }

    /// Whether reports show the warning before anything else: it changes the conclusion, or
    /// it is a mistake in the user's own options (a symbol path that cannot work).
    pub fn shown_first(&self) -> bool {
        self.changes_conclusion() || self.code == WarningCode::SymbolPath
    }
}

impl std::fmt::Display for Warning {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.file {
            Some(file) => write!(f, "{file}: {}", self.message),
            None => f.write_str(&self.message),
        }
    }
}

macro_rules! warning_codes {
    ($($(#[doc = $doc:literal])* $variant:ident = $code:literal, $conclusion:literal;)*) => {
        /// The kinds of warning. The kebab-case names are the JSON `code` values and do not
        /// change; new codes may be added.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[non_exhaustive]
        pub enum WarningCode {
            $($(#[doc = $doc])* #[serde(rename = $code)] $variant,)*
        }

        impl WarningCode {
            /// Every code, in documentation order.
            pub const ALL: &'static [WarningCode] = &[$(WarningCode::$variant,)*];

            /// The JSON name of the code.
            pub fn as_str(self) -> &'static str {
                match self {
                    $(WarningCode::$variant => $code,)*
                }
            }

            /// Whether a warning of this kind changes the report's conclusion.
            pub fn changes_conclusion(self) -> bool {
                match self {
                    $(WarningCode::$variant => $conclusion,)*
                }
            }
        }
    };
}

warning_codes! {
    /// The inputs are dumps of different processes (pid or start time differ).
    DifferentProcess = "different-process", true;
    /// The inputs are of different programs (image names differ).
    DifferentProgram = "different-program", true;
    /// A dump has no process id, so that the inputs are one process could not be checked.
    NoProcessId = "no-process-id", false;
    /// The inputs were given newest first.
    ReverseOrder = "reverse-order", true;
    /// The inputs were given newest first and compared older → newer.
    Reordered = "reordered", true;
    /// Capture times are equal or missing: the given order could not be checked.
    OrderUnchecked = "order-unchecked", false;
    /// A dump's header capture time cannot be real (0, or before the process start time): it
    /// counts as missing.
    CaptureTimeNotCredible = "capture-time-not-credible", false;
    /// The input has no handle data: nothing can be counted.
    NoHandleData = "no-handle-data", true;
    /// An input is a per-type summary without a handle list.
    SummaryOnly = "summary-only", false;
    /// No handle-trace records: allocation stacks are unknown.
    NoTrace = "no-trace", false;
    /// Handles have no trace record: the trace ring buffer wrapped, or tracing began late.
    TraceWrapped = "trace-wrapped", true;
    /// Open handles without a trace record (opened before tracing began, or their records
    /// fell out of the ring buffer); what the report concludes does not rest on them.
    UntracedHandles = "untraced-handles", false;
    /// Open handles whose newest trace record is not an OPEN.
    TraceInconsistent = "trace-inconsistent", false;
    /// The order of the trace records could not be established; newest first was assumed.
    TraceOrderAssumed = "trace-order-assumed", false;
    /// Two dumps show a difference, not a trend.
    TwoDumps = "two-dumps", false;
    /// Inputs without a capture time: rates per hour and exhaustion cannot be estimated.
    NoCaptureTime = "no-capture-time", false;
    /// Handle types were inferred from the creating API (logs without types).
    TypesInferred = "types-inferred", false;
    /// Handles without any type.
    Untyped = "untyped", false;
    /// Symbols are export tables only: names are the nearest preceding export.
    ExportSymbolsOnly = "export-symbols-only", false;
    /// No symbols for some modules: frames read module+offset.
    NoSymbols = "no-symbols", false;
    /// Symbols used although their identity does not match the module.
    SymbolsMismatched = "symbols-mismatched", false;
    /// What the symbol search found or tried for one module (or, the same for several, for
    /// each of them).
    SymbolNote = "symbol-note", false;
    /// A symbol path element that cannot work: a folder that does not exist, a file where a
    /// folder is expected, a Windows drive or UNC path on another system. Shown first.
    SymbolPath = "symbol-path", false;
    /// The crash stack could not be walked.
    CrashNotWalked = "crash-not-walked", false;
    /// Part of a stream could not be read (bad strings, looping chains, clamped stacks).
    StreamDamaged = "stream-damaged", false;
    /// The dump has no usable module list: frames cannot be attributed.
    NoModules = "no-modules", true;
    /// Captured memory could not be used (only symbols read from memory are affected).
    MemoryUnusable = "memory-unusable", false;
    /// A debugger log or listing holds something the parser could not use, or says so.
    LogNote = "log-note", false;
    /// An `!htrace` block is incomplete or its stated count differs from what was read.
    LogIncomplete = "log-incomplete", true;
    /// The paste elides records or frames (`...`): what they stood for is not known.
    LogElided = "log-elided", true;
    /// A debugger log holds several sessions (processes); one is reported (`--pid`, `--block`).
    LogSessions = "log-sessions", true;
    /// A `!handle` summary's stated total differs from the sum of its per-type counts.
    SummaryTotal = "summary-total", true;
    /// Stacks at the 16-frame limit of kernel-captured traces: the outer frames are missing.
    StacksTruncated = "stacks-truncated", false;
    /// Inputs without capture times taken from a directory in file-name order (series).
    OrderByName = "order-by-name", true;
    /// `--order given` keeps dumps that are not in capture-time order (series).
    OrderNotTime = "order-not-time", true;
    /// The process restarted within a series, which is split there into segments.
    ProcessRestarted = "process-restarted", true;
}

/// Turns plain sentences into warnings of one code (for inputs whose parser reports notes).
pub fn notes(code: WarningCode, notes: impl IntoIterator<Item = String>) -> Vec<Warning> {
    notes
        .into_iter()
        .map(|note| Warning::new(code, note))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_serialise_to_their_documented_names() {
        for code in WarningCode::ALL {
            let json = serde_json::to_string(code).unwrap();
            assert_eq!(json, format!("\"{}\"", code.as_str()));
            let back: WarningCode = serde_json::from_str(&json).unwrap();
            assert_eq!(back, *code);
        }
        let warning = Warning::new(WarningCode::TraceWrapped, "3 of 9 lost")
            .in_file("after.dmp")
            .at(0x40);
        assert_eq!(warning.to_string(), "after.dmp: 3 of 9 lost");
        assert_eq!(
            serde_json::to_value(&warning).unwrap(),
            serde_json::json!({"code": "trace-wrapped", "message": "3 of 9 lost", "file": "after.dmp", "offset": 64})
        );
        assert!(warning.changes_conclusion());
    }
}
