#pragma once
// Thin shim over ncursesw for Swift: the macros, globals and variadic calls Swift cannot
// import are re-exported here as `cn_`-prefixed functions and constants.
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <ncurses.h>
#include <stdint.h>
#include <wchar.h>

/// Attribute bits (`A_*` are macros Swift cannot import).
extern const uint32_t CN_A_NORMAL;
extern const uint32_t CN_A_BOLD;
extern const uint32_t CN_A_REVERSE;
extern const uint32_t CN_A_UNDERLINE;
extern const uint32_t CN_A_DIM;

/// Key codes that are macros or need `KEY_F(n)`.
extern const int CN_KEY_F1;

/// Mouse button states.
extern const unsigned long CN_BUTTON1_PRESSED;
extern const unsigned long CN_BUTTON1_CLICKED;
extern const unsigned long CN_BUTTON4_PRESSED;
extern const unsigned long CN_BUTTON5_PRESSED;

/// True when both stdin and stdout are terminals (`newterm` would otherwise "succeed" and spin).
int cn_stdio_are_terminals(void);

/// True when the current `LC_CTYPE` codeset is UTF-8 (`nl_langinfo(CODESET)`).
int cn_locale_is_utf8(void);

/// `setlocale(LC_ALL, "")`. Returns 1 when that locale is UTF-8 (else the UI draws ASCII).
int cn_setup_locale(void);

/// Unblocks the signals the UI needs (threads that spawned us may have blocked them) and installs
/// handlers for SIGINT, SIGTERM and SIGHUP that restore the terminal and exit with 128+signal.
/// Call before `cn_start`, so ncurses sees our handlers and leaves them alone.
void cn_install_signal_handlers(void);

/// Starts ncurses on the process's terminal with `newterm` (returns 0 on failure instead of
/// exiting the process as `initscr` does). Sets cbreak, noecho, keypad, a short ESCDELAY unless
/// the user chose one, hides the cursor, and enables the mouse.
int cn_start(void);

/// Ends ncurses (idempotent): the terminal is restored.
void cn_stop(void);

/// Starts colours when the terminal has them; returns the number of colours (0: monochrome).
int cn_start_colors(void);

/// `init_pair` with -1 as the terminal's default colour.
void cn_init_pair(short pair, short foreground, short background);

/// Current terminal size.
int cn_lines(void);
int cn_columns(void);

/// Waits until the terminal has input or was resized (any thread may receive SIGWINCH), at most
/// `milliseconds` (< 0: forever). Returns 1 when something is ready, 0 on timeout.
int cn_wait_for_input(int milliseconds);

/// Blocks for a key when `milliseconds` < 0; otherwise waits at most that long.
/// Returns the `get_wch` status (OK, KEY_CODE_YES or ERR) and the key in `*key`.
int cn_read_key(int milliseconds, unsigned int *key);

/// Reads the pending mouse event; returns 0 when there is none.
int cn_read_mouse(int *x, int *y, unsigned long *buttons);

/// Writes `count` wide characters at (row, column) with attributes and colour pair.
/// The bottom-right cell returns ERR on some terminals; that is ignored.
void cn_put(int row, int column, const wchar_t *text, int count, uint32_t attributes, short pair);

/// Clears the whole screen on the next refresh (Ctrl-L, after resize).
void cn_clear_all(void);

/// Pushes the pending changes to the terminal.
void cn_refresh(void);
