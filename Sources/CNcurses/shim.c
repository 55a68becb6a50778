#include "CNcurses.h"
#include <errno.h>
#include <fcntl.h>
#include <langinfo.h>
#include <poll.h>
#include <pthread.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

const uint32_t CN_A_NORMAL = A_NORMAL;
const uint32_t CN_A_BOLD = A_BOLD;
const uint32_t CN_A_REVERSE = A_REVERSE;
const uint32_t CN_A_UNDERLINE = A_UNDERLINE;
const uint32_t CN_A_DIM = A_DIM;
const int CN_KEY_F1 = KEY_F(1);
const unsigned long CN_BUTTON1_PRESSED = BUTTON1_PRESSED;
const unsigned long CN_BUTTON1_CLICKED = BUTTON1_CLICKED;
const unsigned long CN_BUTTON4_PRESSED = BUTTON4_PRESSED;
#ifdef BUTTON5_PRESSED
const unsigned long CN_BUTTON5_PRESSED = BUTTON5_PRESSED;
#else
const unsigned long CN_BUTTON5_PRESSED = 0;
#endif

static SCREEN *active_screen = NULL;
// Written from signal handlers: only ever read there to decide whether to call endwin().
static volatile sig_atomic_t curses_active = 0;

int cn_stdio_are_terminals(void) { return isatty(STDIN_FILENO) && isatty(STDOUT_FILENO); }

// Before any Swift code runs (the runtime and Foundation open descriptors of their own): a
// closed stdin/stdout/stderr is reopened on /dev/null, read-only so that writes to stdout or
// stderr fail visibly (EBADF) instead of landing in whatever file would take the number.
__attribute__((constructor)) static void cn_guard_standard_descriptors(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (fcntl(fd, F_GETFD) < 0 && errno == EBADF) {
      int replacement = open("/dev/null", O_RDONLY);
      if (replacement >= 0 && replacement != fd) {
        dup2(replacement, fd);
        close(replacement);
      }
    }
  }
}

int cn_locale_is_utf8(void) {
  const char *codeset = nl_langinfo(CODESET);
  if (codeset == NULL) return 0;
  return strcmp(codeset, "UTF-8") == 0 || strcmp(codeset, "utf8") == 0 || strcmp(codeset, "UTF8") == 0;
}

int cn_setup_locale(void) {
  // The user's locale is our only word on the terminal's encoding: when it is not UTF-8 the
  // caller switches to ASCII glyphs rather than sending UTF-8 bytes a terminal may garble.
  setlocale(LC_ALL, "");
  return cn_locale_is_utf8();
}

// The terminal as it was before ncurses touched it, and the bytes that undo what ncurses sent
// (attributes off, cursor shown, keypad and mouse reporting off, alternate screen left). A
// fatal signal restores both with write() and tcsetattr() only: both are async-signal-safe,
// unlike endwin(), which may deadlock on a lock the interrupted code holds.
static struct termios saved_termios;
static volatile sig_atomic_t have_saved_termios = 0;
static char restore_bytes[256];
static volatile sig_atomic_t restore_length = 0;

static void append_capability(const char *name) {
  const char *value = tigetstr((char *)name);
  if (value == NULL || value == (char *)-1) return;
  size_t length = strlen(value);
  if ((size_t)restore_length + length >= sizeof restore_bytes) return;
  memcpy(restore_bytes + restore_length, value, length);
  restore_length += (sig_atomic_t)length;
}

static void prepare_restore_bytes(int with_mouse) {
  restore_length = 0;
  append_capability("sgr0");
  append_capability("cnorm");
  append_capability("rmkx");
  if (with_mouse) {
    static const char mouse_off[] = "\033[?1000l\033[?1002l\033[?1006l";
    if ((size_t)restore_length + sizeof mouse_off - 1 < sizeof restore_bytes) {
      memcpy(restore_bytes + restore_length, mouse_off, sizeof mouse_off - 1);
      restore_length += (sig_atomic_t)(sizeof mouse_off - 1);
    }
  }
  append_capability("rmcup");
}

// Never blocks: SIGTTOU is blocked first, so tcsetattr() and write() from a background process
// group (e.g. under `timeout`) go through instead of stopping the process forever.
static void restore_terminal_from_signal(void) {
  if (!curses_active) return;
  curses_active = 0;
  sigset_t ttou;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &ttou, NULL);
  int saved_errno = errno;
  for (sig_atomic_t offset = 0; offset < restore_length;) {
    ssize_t written = write(STDOUT_FILENO, restore_bytes + offset, (size_t)(restore_length - offset));
    if (written <= 0) break;
    offset += (sig_atomic_t)written;
  }
  if (have_saved_termios) tcsetattr(STDIN_FILENO, TCSANOW, &saved_termios);
  errno = saved_errno;
}

static void restore_and_exit(int signal_number) {
  restore_terminal_from_signal();
  _exit(128 + signal_number);
}

// Signals whose default action ends the process: each restores the terminal and exits with
// 128 + its number. SIGQUIT (Ctrl-\) among them: the Swift runtime would otherwise print a
// backtrace over the screen and keep running.
static const int fatal_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGALRM,
                                    SIGPIPE, SIGVTALRM, SIGPROF, SIGXCPU, SIGXFSZ};
#define FATAL_SIGNAL_COUNT (sizeof fatal_signals / sizeof fatal_signals[0])

// Crash signals: restore the terminal, then hand the signal to whoever had it before (the Swift
// runtime's backtracer prints to a usable terminal that way).
static const int crash_signals[] = {SIGILL, SIGTRAP, SIGSEGV, SIGBUS, SIGFPE, SIGABRT};
#define CRASH_SIGNAL_COUNT (sizeof crash_signals / sizeof crash_signals[0])
static struct sigaction previous_crash_actions[CRASH_SIGNAL_COUNT];

static void restore_on_crash(int signal_number) {
  restore_terminal_from_signal();
  for (size_t index = 0; index < CRASH_SIGNAL_COUNT; index++) {
    if (crash_signals[index] == signal_number) {
      sigaction(signal_number, &previous_crash_actions[index], NULL);
      // Hand the signal on now (SA_NODEFER keeps it unblocked): this also covers a crash signal
      // sent with kill(), which returning alone would swallow.
      raise(signal_number);
      return;
    }
  }
  signal(signal_number, SIG_DFL);
  raise(signal_number);
}

void cn_install_signal_handlers(void) {
  sigset_t wanted;
  sigemptyset(&wanted);
  for (size_t index = 0; index < FATAL_SIGNAL_COUNT; index++) sigaddset(&wanted, fatal_signals[index]);
  sigaddset(&wanted, SIGWINCH);
  sigaddset(&wanted, SIGTSTP);
  sigaddset(&wanted, SIGCONT);
  pthread_sigmask(SIG_UNBLOCK, &wanted, NULL);
  struct sigaction action;
  memset(&action, 0, sizeof action);
  action.sa_handler = restore_and_exit;
  // Every fatal signal blocked while one is handled: two at once must not interleave.
  sigemptyset(&action.sa_mask);
  for (size_t index = 0; index < FATAL_SIGNAL_COUNT; index++) sigaddset(&action.sa_mask, fatal_signals[index]);
  for (size_t index = 0; index < FATAL_SIGNAL_COUNT; index++) {
    struct sigaction previous;
    // A signal the parent left ignored (nohup's SIGHUP, a shell's SIGPIPE) stays ignored.
    if (sigaction(fatal_signals[index], NULL, &previous) == 0 && previous.sa_handler == SIG_IGN &&
        fatal_signals[index] != SIGINT && fatal_signals[index] != SIGQUIT && fatal_signals[index] != SIGTERM)
      continue;
    sigaction(fatal_signals[index], &action, NULL);
  }
  struct sigaction crash;
  memset(&crash, 0, sizeof crash);
  crash.sa_handler = restore_on_crash;
  sigemptyset(&crash.sa_mask);
  crash.sa_flags = SA_NODEFER;
  for (size_t index = 0; index < CRASH_SIGNAL_COUNT; index++) {
    sigaction(crash_signals[index], &crash, &previous_crash_actions[index]);
  }
  // A parent may have left these ignored; ncurses needs the defaults to install its own.
  signal(SIGTSTP, SIG_DFL);
  signal(SIGWINCH, SIG_DFL);
}

// SIGWINCH may be delivered to any thread of the Swift runtime, not the one blocked reading the
// terminal, so ncurses alone would only notice a resize at the next key. Its handler is chained
// behind ours, and ours also writes a byte to this pipe, which the input wait polls.
static int wake_pipe[2] = {-1, -1};
static struct sigaction ncurses_winch_action;

static void winch_handler(int signal_number, siginfo_t *info, void *context) {
  int saved_errno = errno;
  if (wake_pipe[1] >= 0) {
    ssize_t ignored = write(wake_pipe[1], "w", 1);
    (void)ignored;
  }
  if (ncurses_winch_action.sa_flags & SA_SIGINFO) {
    if (ncurses_winch_action.sa_sigaction != NULL) ncurses_winch_action.sa_sigaction(signal_number, info, context);
  } else if (ncurses_winch_action.sa_handler != SIG_DFL && ncurses_winch_action.sa_handler != SIG_IGN &&
             ncurses_winch_action.sa_handler != NULL) {
    ncurses_winch_action.sa_handler(signal_number);
  }
  errno = saved_errno;
}

static void install_winch_wakeup(void) {
  if (wake_pipe[0] < 0) {
    if (pipe(wake_pipe) != 0) return;
    for (int index = 0; index < 2; index++) {
      fcntl(wake_pipe[index], F_SETFL, fcntl(wake_pipe[index], F_GETFL) | O_NONBLOCK);
      fcntl(wake_pipe[index], F_SETFD, FD_CLOEXEC);
    }
  }
  struct sigaction ours;
  memset(&ours, 0, sizeof ours);
  ours.sa_sigaction = winch_handler;
  ours.sa_flags = SA_SIGINFO | SA_RESTART;
  sigemptyset(&ours.sa_mask);
  sigaction(SIGWINCH, &ours, &ncurses_winch_action);
}

int cn_wait_for_input(int milliseconds) {
  struct pollfd fds[2];
  fds[0].fd = STDIN_FILENO;
  fds[0].events = POLLIN;
  fds[0].revents = 0;
  fds[1].fd = wake_pipe[0];
  fds[1].events = POLLIN;
  fds[1].revents = 0;
  int count = wake_pipe[0] >= 0 ? 2 : 1;
  int ready;
  do {
    ready = poll(fds, (nfds_t)count, milliseconds < 0 ? -1 : milliseconds);
  } while (ready < 0 && errno == EINTR && milliseconds < 0);
  if (ready > 0 && count == 2 && (fds[1].revents & POLLIN)) {
    char drain[64];
    while (read(wake_pipe[0], drain, sizeof drain) > 0) {
    }
  }
  return ready > 0 ? 1 : 0;
}

int cn_start(void) {
  if (active_screen != NULL) return 1;
  if (getenv("ESCDELAY") == NULL) set_escdelay(25);
  if (tcgetattr(STDIN_FILENO, &saved_termios) == 0) have_saved_termios = 1;
  active_screen = newterm(NULL, stdout, stdin);
  if (active_screen == NULL) return 0;
  set_term(active_screen);
  cbreak();
  noecho();
  nonl();
  keypad(stdscr, TRUE);
  intrflush(stdscr, FALSE);
  curs_set(0);
  mousemask(BUTTON1_PRESSED | BUTTON1_CLICKED | BUTTON4_PRESSED
#ifdef BUTTON5_PRESSED
            | BUTTON5_PRESSED
#endif
            , NULL);
  mouseinterval(0);
  install_winch_wakeup();
  prepare_restore_bytes(has_mouse());
  fflush(stdout);
  curses_active = 1;
  return 1;
}

void cn_stop(void) {
  if (active_screen == NULL) return;
  curses_active = 0;
  // endwin() sets the terminal modes: from a background process group that would stop us on
  // SIGTTOU; with SIGTTOU blocked it goes through.
  sigset_t ttou, previous;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  pthread_sigmask(SIG_BLOCK, &ttou, &previous);
  endwin();
  pthread_sigmask(SIG_SETMASK, &previous, NULL);
  delscreen(active_screen);
  active_screen = NULL;
}

int cn_start_colors(void) {
  if (!has_colors()) return 0;
  if (start_color() != OK) return 0;
  use_default_colors();
  return COLORS;
}

void cn_init_pair(short pair, short foreground, short background) { init_pair(pair, foreground, background); }

int cn_lines(void) { return LINES; }
int cn_columns(void) { return COLS; }

int cn_read_key(int milliseconds, unsigned int *key) {
  timeout(milliseconds);
  wint_t value = 0;
  int status = get_wch(&value);
  *key = (unsigned int)value;
  return status;
}

int cn_read_mouse(int *x, int *y, unsigned long *buttons) {
  MEVENT event;
  if (getmouse(&event) != OK) return 0;
  *x = event.x;
  *y = event.y;
  *buttons = (unsigned long)event.bstate;
  return 1;
}

void cn_put(int row, int column, const wchar_t *text, int count, uint32_t attributes, short pair) {
  attr_set((attr_t)attributes, pair, NULL);
  mvaddnwstr(row, column, text, count);
}

void cn_clear_all(void) { clearok(curscr, TRUE); }

void cn_refresh(void) { refresh(); }
