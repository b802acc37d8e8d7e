/*
 * leakylib.c - test DLL for dumpleak: LeakyOpenSession leaks one Event handle per call.
 *
 * Call chain (each call is a real `call` instruction, so there are real return addresses):
 *   LeakyOpenSession (exported)
 *     -> session_init (static, noinline)
 *       -> open_pool (static, noinline)
 *         -> acquire_slot (static inline, always_inline: inlined into open_pool)
 *           -> imp_CreateEventW (a function pointer in .data, like an IAT slot)
 *             -> CreateEventW_stub (stands in for kernel32!CreateEventW; /nodefaultlib)
 *
 * Built by build.sh; see testdata/README.md.
 */
typedef void *HANDLE;
typedef unsigned short WCHAR;

struct pool_slot {
    HANDLE event;
    unsigned int generation;
    unsigned int flags;
};

struct pool {
    struct pool_slot slots[16];
    unsigned int next;
    unsigned int opened;
};

struct session_ctx {
    unsigned int magic;
    unsigned int sessions;
    struct pool pool;
};

HANDLE CreateEventW_stub(void *attrs, int manual_reset, int initial_state, const WCHAR *name);

/* The "import": called through a pointer, as through an IAT entry. */
static HANDLE (*volatile imp_CreateEventW)(void *, int, int, const WCHAR *) = CreateEventW_stub;

static unsigned long long g_fake_handle = 0x100;

HANDLE CreateEventW_stub(void *attrs, int manual_reset, int initial_state, const WCHAR *name)
{
    (void)attrs;
    (void)name;
    g_fake_handle += 4 + (unsigned)(manual_reset + initial_state) * 0;
    return (HANDLE)g_fake_handle;
}

static inline __attribute__((always_inline)) struct pool_slot *acquire_slot(struct pool *p)
{
    struct pool_slot *s = &p->slots[p->next % 16];
    s->event = imp_CreateEventW(0, 1, 0, 0);
    s->generation = p->opened;
    p->next++;
    return s;
}

static __attribute__((noinline)) int open_pool(struct pool *p, unsigned int flags)
{
    struct pool_slot *s = acquire_slot(p);
    s->flags = flags;
    p->opened++;
    return s->event != 0;
}

static __attribute__((noinline)) int session_init(struct session_ctx *ctx, unsigned int flags)
{
    int ok = open_pool(&ctx->pool, flags | 1);
    ctx->sessions += (unsigned int)ok;
    return ok ? 0 : -1;
}

__declspec(dllexport) int LeakyOpenSession(struct session_ctx *ctx, unsigned int flags)
{
    int rc = session_init(ctx, flags);
    if (rc != 0)
        return rc;
    return (int)ctx->sessions;
}

__declspec(dllexport) unsigned int LeakySessionCount(const struct session_ctx *ctx)
{
    return ctx->sessions;
}
