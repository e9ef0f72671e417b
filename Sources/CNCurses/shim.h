#define _XOPEN_SOURCE_EXTENDED 1
#ifndef NCURSES_WIDECHAR
#define NCURSES_WIDECHAR 1
#endif
#include <locale.h>
#include <wchar.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>
#include <langinfo.h>
#include <stdio.h>
#include <ncurses.h>

// Small C functions over ncurses macros and variadic calls that Swift cannot import.

static inline attr_t wscope_attr_normal(void) { return A_NORMAL; }
static inline attr_t wscope_attr_bold(void) { return A_BOLD; }
static inline attr_t wscope_attr_dim(void) { return A_DIM; }
static inline attr_t wscope_attr_underline(void) { return A_UNDERLINE; }
static inline attr_t wscope_attr_reverse(void) { return A_REVERSE; }
static inline attr_t wscope_attr_italic(void) {
#ifdef A_ITALIC
    return A_ITALIC;
#else
    return A_NORMAL;
#endif
}

/// Draws one cell: `text` is a spacing character followed by up to four combining
/// characters, NUL-terminated. Colour pairs above 32767 go through the extended-colour
/// `opts` argument.
static inline int wscope_put_cell(int y, int x, const wchar_t *text, attr_t attrs, int pair) {
    cchar_t cell;
    int extended = pair;
    if (setcchar(&cell, text, attrs, (short)(pair > 32767 ? 0 : pair), pair > 32767 ? (void *)&extended : NULL) == ERR) {
        return ERR;
    }
    return mvadd_wch(y, x, &cell);
}

static inline int wscope_wcwidth(wchar_t c) { return wcwidth(c); }

/// The terminal's size from the kernel (TIOCGWINSZ on `fd`); 0 on success.
static inline int wscope_window_size(int fd, int *rows, int *columns) {
    struct winsize size;
    if (ioctl(fd, TIOCGWINSZ, &size) != 0) return -1;
    *rows = size.ws_row;
    *columns = size.ws_col;
    return 0;
}

static inline int wscope_init_pair(int pair, int foreground, int background) {
#if NCURSES_EXT_COLORS
    return init_extended_pair(pair, foreground, background);
#else
    return init_pair((short)pair, (short)foreground, (short)background);
#endif
}

static inline int wscope_colors(void) { return COLORS; }
static inline int wscope_color_pairs(void) { return COLOR_PAIRS; }

// Globals that Swift 6 refuses to touch from nonisolated code.
static inline WINDOW *wscope_stdscr(void) { return stdscr; }
static inline int wscope_lines(void) { return LINES; }
static inline int wscope_cols(void) { return COLS; }
static inline SCREEN *wscope_newterm(void) { return newterm(NULL, stdout, stdin); }

/// The locale's character set is UTF-8.
static inline int wscope_codeset_is_utf8(void) {
    const char *name = nl_langinfo(CODESET);
    if (!name) return 0;
    return (name[0] == 'U' || name[0] == 'u') && (name[1] == 'T' || name[1] == 't') && (name[2] == 'F' || name[2] == 'f')
        && ((name[3] == '-' && name[4] == '8') || name[3] == '8');
}
