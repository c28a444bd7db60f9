// Silences one GCC false positive around the coroutines it is reported for. Wrap the
// whole definition: EXAI_ASIO_FRAME_WARNING_OFF before it, EXAI_ASIO_FRAME_WARNING_ON after it.
//
// GCC 12 at -O2 reports -Wmismatched-new-delete at the closing brace of some coroutines returning
// asio::awaitable<T> (which ones depends on its inlining decisions). In the coroutine's ramp it
// inlines awaitable_frame_base::operator new down to std::aligned_alloc
// (thread_info_base::allocate -> aligned_new), sees the frame passed to
// awaitable_frame_base::operator delete on a path of the same function, does not inline that, and
// treats any operator delete as the wrong partner of aligned_alloc. That operator delete hands the
// block to thread_info_base::deallocate, which keeps it in the per-thread cache or releases it with
// std::free (aligned_delete): the right partner. So the pairing is correct and only the warning is
// turned off, for these functions only; any other mismatch in the file is still reported.
#pragma once

#if defined(__GNUC__) && !defined(__clang__)
#define EXAI_ASIO_FRAME_WARNING_OFF \
  _Pragma("GCC diagnostic push") _Pragma("GCC diagnostic ignored \"-Wmismatched-new-delete\"")
#define EXAI_ASIO_FRAME_WARNING_ON _Pragma("GCC diagnostic pop")
#else
#define EXAI_ASIO_FRAME_WARNING_OFF
#define EXAI_ASIO_FRAME_WARNING_ON
#endif
