//! Module names: one rule for "the module's name without its extension", used wherever a
//! module is named in a frame or compared with a name a user, a rule file or a log gives.

/// Image extensions dropped to get a module's WinDbg name (`kernel32.dll` → `kernel32`).
/// Only these are dropped, so a name given without its extension keeps every dot it has
/// (`kernel.appcore` stays `kernel.appcore`).
const IMAGE_EXTENSIONS: &[&str] = &[
    "dll", "exe", "sys", "drv", "ocx", "cpl", "scr", "efi", "ax", "acm", "tlb", "winmd",
];

/// The module's name as WinDbg prints it in frames: the file name without an image
/// extension (`MSMAPI32.DLL` → `MSMAPI32`, `kernel.appcore.dll` → `kernel.appcore`).
pub fn module_stem(name: &str) -> &str {
    match name.rfind('.') {
        Some(dot)
            if dot > 0
                && IMAGE_EXTENSIONS
                    .iter()
                    .any(|extension| name[dot + 1..].eq_ignore_ascii_case(extension)) =>
        {
            &name[..dot]
        }
        _ => name,
    }
}

/// Whether two names denote the same module: equal without their image extensions, in any
/// case (`NTDLL.DLL`, `ntdll` and `ntdll.dll` are one module).
pub fn same_module(a: &str, b: &str) -> bool {
    module_stem(a).eq_ignore_ascii_case(module_stem(b))
}

/// The key under which a module name is looked up: its stem in lower case.
pub fn module_key(name: &str) -> String {
    module_stem(name).to_ascii_lowercase()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_only_image_extensions() {
        assert_eq!(module_stem("MSMAPI32.DLL"), "MSMAPI32");
        assert_eq!(module_stem("OrderMailer.exe"), "OrderMailer");
        assert_eq!(module_stem("kernel.appcore.dll"), "kernel.appcore");
        assert_eq!(module_stem("kernel.appcore"), "kernel.appcore");
        assert_eq!(module_stem("ntdll"), "ntdll");
        assert_eq!(module_stem(".dll"), ".dll");
        assert_eq!(module_stem("tcpip.sys"), "tcpip");
    }

    #[test]
    fn one_module_under_every_spelling() {
        assert!(same_module("NTDLL.DLL", "ntdll"));
        assert!(same_module("ntdll.dll", "NtDll.Dll"));
        assert!(!same_module("kernel.appcore.dll", "kernel"));
        assert!(!same_module("ntdll.dll", "ntdll.exe.manifest"));
        assert_eq!(module_key("KernelBase.DLL"), "kernelbase");
    }
}
