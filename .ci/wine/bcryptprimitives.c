/*
 * A stand-in for bcryptprimitives.dll, installed only into the Wine prefix the Windows tests
 * run in (.ci/wine/run builds it with mingw-w64 and copies it into the prefix's system32; it
 * is never shipped or put beside a build).
 *
 * Why: Rust's standard library for Windows (since Rust 1.78) takes its random numbers (the
 * seeds of HashMap's hasher, among others) from ProcessPrng, imported from
 * bcryptprimitives.dll. Debian 12's Wine 8.0 has no such DLL, so every Rust program fails to
 * start under it ("Library bcryptprimitives.dll ... not found", status c0000135). Newer Wine
 * (9.x) ships one; on Windows 8 and later the system's own is used.
 *
 * ProcessPrng fills the buffer with random bytes and, as documented, always returns TRUE. Here
 * the bytes come from RtlGenRandom (advapi32's SystemFunction036), which Wine has, in pieces
 * of at most ULONG_MAX bytes; should it ever fail, the process ends rather than going on
 * with bytes that are not random.
 */
#include <windows.h>

BOOLEAN WINAPI SystemFunction036(PVOID buffer, ULONG length); /* RtlGenRandom */

__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T length)
{
    while (length > 0) {
        ULONG chunk = length > 0xFFFFFFFFu ? 0xFFFFFFFFu : (ULONG)length;
        if (!SystemFunction036(data, chunk))
            ExitProcess(0xC0000001u); /* STATUS_UNSUCCESSFUL */
        data += chunk;
        length -= chunk;
    }
    return TRUE;
}
