//! Which module to blame for a stack: the innermost frame outside the system modules.

use crate::snapshot::module_key;
use crate::symbols::Frame;
use std::borrow::Borrow;

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

/// Folders of Windows whose modules are system modules, lower case, below the Windows folder.
const SYSTEM_FOLDERS: &[&str] = &["system32", "syswow64", "sysnative", "winsxs"];

/// Whether the module path `path` lies in a Windows system folder (`\Windows\System32\`,
/// `\Windows\SysWOW64\`, `\Windows\WinSxS\`, in any case, on any drive or device, also
/// written `%SystemRoot%\…`, `\SystemRoot\…` or `%windir%\…`).
pub fn in_system_folder(path: &str) -> bool {
    let mut path = path.replace('/', "\\").to_lowercase();
    for root in ["%systemroot%\\", "\\systemroot\\", "%windir%\\"] {
        if let Some(rest) = path.strip_prefix(root) {
            path = format!("\\windows\\{rest}");
            break;
        }
    }
    SYSTEM_FOLDERS
        .iter()
        .any(|folder| path.contains(&format!("\\windows\\{folder}\\")))
}

/// The rule that names the blamed module of a stack, and the one definition of a system
/// module ([`Attribution::is_system_loaded`]).
#[derive(Debug, Clone)]
pub struct Attribution {
    system_modules: Vec<String>,
    /// Modules loaded from a Windows system folder are system modules too.
    system_folders: bool,
}

impl Default for Attribution {
    fn default() -> Self {
        Attribution::with_extra(Vec::new())
    }
}

impl Attribution {
    /// A rule treating only `system_modules` (names with or without extension) as system
    /// modules (not the modules of the Windows system folders: see [`Attribution::with_extra`]).
    pub fn new(system_modules: impl IntoIterator<Item = String>) -> Attribution {
        let mut system_modules: Vec<String> = system_modules
            .into_iter()
            .map(|name| module_key(&name))
            .collect();
        system_modules.sort();
        system_modules.dedup();
        Attribution {
            system_modules,
            system_folders: false,
        }
    }

    /// The default rule: the default list plus `extra`, and every module loaded from a
    /// Windows system folder ([`in_system_folder`]).
    pub fn with_extra(extra: impl IntoIterator<Item = String>) -> Attribution {
        Attribution {
            system_folders: true,
            ..Attribution::new(
                DEFAULT_SYSTEM_MODULES
                    .iter()
                    .map(|name| name.to_string())
                    .chain(extra),
            )
        }
    }

    /// The system module names, lowercase without extension, sorted.
    pub fn system_modules(&self) -> &[String] {
        &self.system_modules
    }

    /// Whether the module file `name` is on the system module list (all that can be told of a
    /// module known by name only).
    pub fn is_system(&self, name: &str) -> bool {
        self.is_system_loaded(name, false)
    }

    /// Whether the module `name`, loaded from `path` when known, is a system module.
    pub fn is_system_module(&self, name: &str, path: Option<&str>) -> bool {
        self.is_system_loaded(name, path.is_some_and(in_system_folder))
    }

    /// What a system module is: one on the list, or (by default) one loaded from a Windows
    /// system folder (`from_system_folder`, [`in_system_folder`] of its path).
    pub fn is_system_loaded(&self, name: &str, from_system_folder: bool) -> bool {
        (self.system_folders && from_system_folder)
            || self.system_modules.binary_search(&module_key(name)).is_ok()
    }

    /// The blamed frame of a stack (innermost first): the first frame in a module that is not
    /// a system module. Frames outside every module are passed over.
    pub fn blamed<'a, F: Borrow<Frame>>(&self, frames: &'a [F]) -> Option<&'a Frame> {
        self.blamed_with(frames, |_| None)
    }

    /// [`Attribution::blamed`], with `path_of` giving the path of a frame's module when known.
    pub fn blamed_with<'a, 'p, F: Borrow<Frame>>(
        &self,
        frames: &'a [F],
        path_of: impl Fn(&Frame) -> Option<&'p str>,
    ) -> Option<&'a Frame> {
        frames.iter().map(Borrow::borrow).find(|frame| {
            frame
                .module
                .as_deref()
                .is_some_and(|module| !self.is_system_module(module, path_of(frame)))
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
    fn modules_of_the_windows_system_folders_are_system_modules() {
        for path in [
            r"C:\WINDOWS\SYSTEM32\CRYPTBASE.DLL",
            r"d:\windows\syswow64\msvcp_win.dll",
            r"C:\Windows\WinSxS\amd64_microsoft.windows.common-controls_6595b64144ccf1df_6.0.22000.120_none_9d947278b86cc467\COMCTL32.dll",
            r"\Device\HarddiskVolume3\Windows\System32\IMM32.DLL",
            r"\??\C:\Windows\System32\VERSION.dll",
            r"%SystemRoot%\system32\WINMM.dll",
            r"\SystemRoot\System32\ntmarta.dll",
            "C:/Windows/System32/x.dll",
        ] {
            assert!(in_system_folder(path), "{path}");
            assert!(Attribution::default().is_system_module("x.dll", Some(path)));
        }
        for path in [
            r"C:\src\crashpad\tiny.exe",
            r"C:\Program Files (x86)\Citrix\ICA Client\epclient64.dll",
            r"C:\Windows\Temp\x.dll",
            r"C:\MyWindows\System32\x.dll",
            r"C:\Windows\System32x\x.dll",
            "",
        ] {
            assert!(!in_system_folder(path), "{path}");
        }
        let rule = Attribution::default();
        assert!(!rule.is_system_module("CRYPTBASE.DLL", None));
        assert!(!rule.is_system("CRYPTBASE.DLL"), "by name only: the list");
        assert!(
            !Attribution::new(Vec::new())
                .is_system_module("CRYPTBASE.DLL", Some(r"C:\Windows\System32\CRYPTBASE.DLL")),
            "--no-default-system-modules"
        );
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
