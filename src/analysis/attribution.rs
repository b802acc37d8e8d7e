//! Which module to blame for a stack: the innermost frame outside the system modules.

use crate::snapshot::module_key;
use crate::symbols::Frame;

/// Modules that allocate handles on behalf of their callers and so are never blamed.
pub const DEFAULT_SYSTEM_MODULES: &[&str] = &[
    "ntdll",
    // Application Verifier's layers sit between every caller and the API it hooks.
    "verifier",
    "vfbasics",
    "vrfcore",
    "vfcompat",
    // Kernel frames of a trace captured in the kernel.
    "nt",
    "ntoskrnl",
    "ntkrnlmp",
    "kernel32",
    "kernelbase",
    "kernel.appcore",
    "advapi32",
    "sechost",
    "rpcrt4",
    "combase",
    "ole32",
    "oleaut32",
    "msvcrt",
    "ucrtbase",
    "vcruntime140",
    "msvcp140",
    "user32",
    "win32u",
    "gdi32",
    "gdi32full",
    "ws2_32",
    "mswsock",
    "shell32",
    "shlwapi",
    "shcore",
    "bcrypt",
    "bcryptprimitives",
    "crypt32",
    "cfgmgr32",
    "setupapi",
    "wow64",
    "wow64win",
    "wow64cpu",
    "verifier",
];

/// The rule that names the blamed module of a stack.
#[derive(Debug, Clone)]
pub struct Attribution {
    system_modules: Vec<String>,
}

impl Default for Attribution {
    fn default() -> Self {
        Attribution::new(DEFAULT_SYSTEM_MODULES.iter().map(|name| name.to_string()))
    }
}

impl Attribution {
    /// A rule treating `system_modules` (names with or without extension) as system modules.
    pub fn new(system_modules: impl IntoIterator<Item = String>) -> Attribution {
        let mut system_modules: Vec<String> = system_modules
            .into_iter()
            .map(|name| module_key(&name))
            .collect();
        system_modules.sort();
        system_modules.dedup();
        Attribution { system_modules }
    }

    /// The default list plus `extra`.
    pub fn with_extra(extra: impl IntoIterator<Item = String>) -> Attribution {
        Attribution::new(
            DEFAULT_SYSTEM_MODULES
                .iter()
                .map(|name| name.to_string())
                .chain(extra),
        )
    }

    /// The system module names, lowercase without extension, sorted.
    pub fn system_modules(&self) -> &[String] {
        &self.system_modules
    }

    /// Whether the module file `name` is a system module.
    pub fn is_system(&self, name: &str) -> bool {
        self.system_modules.binary_search(&module_key(name)).is_ok()
    }

    /// The blamed frame of a stack (innermost first): the first frame in a module that is not
    /// a system module. Frames outside every module are passed over.
    pub fn blamed<'a>(&self, frames: &'a [Frame]) -> Option<&'a Frame> {
        frames.iter().find(|frame| {
            frame
                .module
                .as_deref()
                .is_some_and(|module| !self.is_system(module))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::symbols::SymbolOrigin;

    fn frame(module: Option<&str>) -> Frame {
        Frame {
            address: 0x1000,
            module: module.map(str::to_string),
            module_frame_name: None,
            symbol: None,
            offset: 0,
            origin: SymbolOrigin::None,
            source_line: None,
            inlined: Vec::new(),
        }
    }

    #[test]
    fn system_modules_match_with_or_without_extension_in_any_case() {
        let rule = Attribution::default();
        assert!(rule.is_system("NTDLL.DLL"));
        assert!(rule.is_system("kernel32"));
        assert!(rule.is_system("KernelBase.dll"));
        assert!(rule.is_system("kernel.appcore.dll"));
        assert!(!rule.is_system("MSMAPI32.DLL"));
        assert!(!rule.is_system("kernel"));
    }

    #[test]
    fn blames_the_innermost_frame_outside_system_modules() {
        let rule = Attribution::default();
        let stack = [
            frame(Some("ntdll.dll")),
            frame(None),
            frame(Some("kernel32.dll")),
            frame(Some("MSMAPI32.DLL")),
            frame(Some("OrderMailer.exe")),
        ];
        assert_eq!(
            rule.blamed(&stack).unwrap().module.as_deref(),
            Some("MSMAPI32.DLL")
        );
        let extra = Attribution::with_extra(["msmapi32".to_string()]);
        assert_eq!(
            extra.blamed(&stack).unwrap().module.as_deref(),
            Some("OrderMailer.exe")
        );
        assert!(Attribution::default().blamed(&stack[..3]).is_none());
        let empty = Attribution::new(Vec::new());
        assert_eq!(
            empty.blamed(&stack).unwrap().module.as_deref(),
            Some("ntdll.dll")
        );
    }
}
