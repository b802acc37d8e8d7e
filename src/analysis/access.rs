//! Granted-access masks and object attributes in words, as `!handle 0 f` shows them: the
//! standard and generic rights, and the specific rights of the common object types.

/// Standard, generic and other rights shared by every object type.
const COMMON_RIGHTS: &[(u32, &str)] = &[
    (0x0001_0000, "DELETE"),
    (0x0002_0000, "READ_CONTROL"),
    (0x0004_0000, "WRITE_DAC"),
    (0x0008_0000, "WRITE_OWNER"),
    (0x0010_0000, "SYNCHRONIZE"),
    (0x0100_0000, "ACCESS_SYSTEM_SECURITY"),
    (0x0200_0000, "MAXIMUM_ALLOWED"),
    (0x1000_0000, "GENERIC_ALL"),
    (0x2000_0000, "GENERIC_EXECUTE"),
    (0x4000_0000, "GENERIC_WRITE"),
    (0x8000_0000, "GENERIC_READ"),
];

/// Named bits of an access mask.
type Rights = &'static [(u32, &'static str)];

/// The specific rights (low 16 bits) of one object type, and its `*_ALL_ACCESS` mask.
fn specific_rights(type_name: &str) -> Option<(Rights, u32, &'static str)> {
    Some(match type_name {
        "Mutant" => (
            &[(0x1, "MUTANT_QUERY_STATE")],
            0x001F_0001,
            "MUTANT_ALL_ACCESS",
        ),
        "Event" => (
            &[(0x1, "EVENT_QUERY_STATE"), (0x2, "EVENT_MODIFY_STATE")],
            0x001F_0003,
            "EVENT_ALL_ACCESS",
        ),
        "Semaphore" => (
            &[
                (0x1, "SEMAPHORE_QUERY_STATE"),
                (0x2, "SEMAPHORE_MODIFY_STATE"),
            ],
            0x001F_0003,
            "SEMAPHORE_ALL_ACCESS",
        ),
        "Section" => (
            &[
                (0x1, "SECTION_QUERY"),
                (0x2, "SECTION_MAP_WRITE"),
                (0x4, "SECTION_MAP_READ"),
                (0x8, "SECTION_MAP_EXECUTE"),
                (0x10, "SECTION_EXTEND_SIZE"),
                (0x20, "SECTION_MAP_EXECUTE_EXPLICIT"),
            ],
            0x000F_001F,
            "SECTION_ALL_ACCESS",
        ),
        "File" => (
            &[
                (0x1, "FILE_READ_DATA"),
                (0x2, "FILE_WRITE_DATA"),
                (0x4, "FILE_APPEND_DATA"),
                (0x8, "FILE_READ_EA"),
                (0x10, "FILE_WRITE_EA"),
                (0x20, "FILE_EXECUTE"),
                (0x40, "FILE_DELETE_CHILD"),
                (0x80, "FILE_READ_ATTRIBUTES"),
                (0x100, "FILE_WRITE_ATTRIBUTES"),
            ],
            0x001F_01FF,
            "FILE_ALL_ACCESS",
        ),
        "Key" => (
            &[
                (0x1, "KEY_QUERY_VALUE"),
                (0x2, "KEY_SET_VALUE"),
                (0x4, "KEY_CREATE_SUB_KEY"),
                (0x8, "KEY_ENUMERATE_SUB_KEYS"),
                (0x10, "KEY_NOTIFY"),
                (0x20, "KEY_CREATE_LINK"),
                (0x100, "KEY_WOW64_64KEY"),
                (0x200, "KEY_WOW64_32KEY"),
            ],
            0x000F_003F,
            "KEY_ALL_ACCESS",
        ),
        "Thread" => (
            &[
                (0x1, "THREAD_TERMINATE"),
                (0x2, "THREAD_SUSPEND_RESUME"),
                (0x8, "THREAD_GET_CONTEXT"),
                (0x10, "THREAD_SET_CONTEXT"),
                (0x20, "THREAD_SET_INFORMATION"),
                (0x40, "THREAD_QUERY_INFORMATION"),
                (0x80, "THREAD_SET_THREAD_TOKEN"),
                (0x100, "THREAD_IMPERSONATE"),
                (0x200, "THREAD_DIRECT_IMPERSONATION"),
                (0x800, "THREAD_QUERY_LIMITED_INFORMATION"),
            ],
            0x001F_FFFF,
            "THREAD_ALL_ACCESS",
        ),
        "Process" => (
            &[
                (0x1, "PROCESS_TERMINATE"),
                (0x2, "PROCESS_CREATE_THREAD"),
                (0x8, "PROCESS_VM_OPERATION"),
                (0x10, "PROCESS_VM_READ"),
                (0x20, "PROCESS_VM_WRITE"),
                (0x40, "PROCESS_DUP_HANDLE"),
                (0x80, "PROCESS_CREATE_PROCESS"),
                (0x100, "PROCESS_SET_QUOTA"),
                (0x200, "PROCESS_SET_INFORMATION"),
                (0x400, "PROCESS_QUERY_INFORMATION"),
                (0x800, "PROCESS_SUSPEND_RESUME"),
                (0x1000, "PROCESS_QUERY_LIMITED_INFORMATION"),
            ],
            0x001F_FFFF,
            "PROCESS_ALL_ACCESS",
        ),
        _ => return None,
    })
}

/// The rights in `mask` for an object of `type_name`, in words: the type's `*_ALL_ACCESS`
/// when the mask is exactly that, else each right named (specific rights of unknown types as
/// `specific 0x…`).
pub fn access_rights(type_name: &str, mask: u32) -> Vec<String> {
    let specific = specific_rights(type_name);
    if let Some((_, all, name)) = specific {
        if mask == all {
            return vec![name.to_string()];
        }
    }
    let mut rights: Vec<String> = Vec::new();
    let mut unnamed_specific = mask & 0xffff;
    if let Some((table, _, _)) = specific {
        for (bit, name) in table {
            if mask & bit != 0 {
                rights.push(name.to_string());
                unnamed_specific &= !bit;
            }
        }
    }
    if unnamed_specific != 0 {
        rights.push(format!("specific {unnamed_specific:#x}"));
    }
    rights.extend(
        COMMON_RIGHTS
            .iter()
            .filter(|(bit, _)| mask & bit != 0)
            .map(|(_, name)| name.to_string()),
    );
    rights
}

/// Object attribute flags (`OBJ_*`) of a handle descriptor, in words.
pub fn attribute_flags(attributes: u32) -> Vec<&'static str> {
    const FLAGS: &[(u32, &str)] = &[
        (0x2, "OBJ_INHERIT"),
        (0x10, "OBJ_PERMANENT"),
        (0x20, "OBJ_EXCLUSIVE"),
        (0x40, "OBJ_CASE_INSENSITIVE"),
        (0x80, "OBJ_OPENIF"),
        (0x100, "OBJ_OPENLINK"),
        (0x200, "OBJ_KERNEL_HANDLE"),
        (0x400, "OBJ_FORCE_ACCESS_CHECK"),
    ];
    FLAGS
        .iter()
        .filter(|(bit, _)| attributes & bit != 0)
        .map(|(_, name)| *name)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_read_as_windbg_names_them() {
        assert_eq!(access_rights("Mutant", 0x1f0001), ["MUTANT_ALL_ACCESS"]);
        assert_eq!(
            access_rights("Event", 0x100002),
            ["EVENT_MODIFY_STATE", "SYNCHRONIZE"]
        );
        assert_eq!(
            access_rights("Section", 0x4 | 0x2_0000),
            ["SECTION_MAP_READ", "READ_CONTROL"]
        );
        assert_eq!(access_rights("WindowStation", 0x37f), ["specific 0x37f"]);
        assert_eq!(access_rights("File", 0x8000_0000), ["GENERIC_READ"]);
        assert!(access_rights("Key", 0).is_empty());
        assert_eq!(attribute_flags(0x2), ["OBJ_INHERIT"]);
        assert!(attribute_flags(0).is_empty());
    }
}
