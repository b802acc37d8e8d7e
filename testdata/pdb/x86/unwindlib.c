/* A small x86 DLL whose functions omit the frame pointer: the PDB carries FrameData (FPO) records. */
__declspec(noinline) int leaf(volatile int *p, int n) {
    int sum = 0;
    for (int i = 0; i < n; i++) sum += p[i] * 3;
    return sum;
}
__declspec(noinline) int middle(int n) {
    volatile int buffer[16];
    for (int i = 0; i < 16; i++) buffer[i] = i + n;
    return leaf(buffer, 16) + 1;
}
__declspec(dllexport) int __stdcall UnwindEntry(int n) {
    return middle(n) * 2;
}
