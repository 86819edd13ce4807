/*
 * prompt.c - reading a password for `user add` and `user passwd`: asked
 * twice on the terminal with echo off, or one line from stdin with
 * --password-stdin (scripts, tests).  The password lives in the caller's
 * buffer, which the caller wipes.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

#include "cli/cli.h"

/* The terminal as it was, for the signal handler: Ctrl-C while the echo
 * is off must not leave the shell without echo. */
static struct termios prompt_saved;
static volatile sig_atomic_t prompt_echo_off;

static void prompt_on_signal(int sig)
{
    if (prompt_echo_off)
        tcsetattr(STDIN_FILENO, TCSAFLUSH, &prompt_saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

/* One line from fd 0 into out, without its \n (or \r\n).  0; 1 when the
 * line is longer than len - 1 (the rest is read and dropped); -1 at EOF
 * with nothing read or on an error. */
static int prompt_line(char *out, size_t len)
{
    size_t n = 0;
    bool over = false, any = false;
    for (;;) {
        char c;
        ssize_t r = read(STDIN_FILENO, &c, 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        any = true;
        if (c == '\n')
            break;
        if (n + 1 < len)
            out[n++] = c;
        else
            over = true;
    }
    if (n && out[n - 1] == '\r')
        n--;
    out[n] = '\0';
    if (!any)
        return -1;
    return over ? 1 : 0;
}

/* Asks once on the terminal, echo off. */
static int prompt_tty(const char *question, char *out, size_t len)
{
    struct termios t;
    if (tcgetattr(STDIN_FILENO, &prompt_saved) < 0)
        return -1;
    t = prompt_saved;
    t.c_lflag &= ~(tcflag_t)ECHO;
    t.c_lflag |= ECHONL;
    struct sigaction sa = {.sa_handler = prompt_on_signal}, oi, ot, oq;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, &oi);
    sigaction(SIGTERM, &sa, &ot);
    sigaction(SIGQUIT, &sa, &oq);
    fprintf(stderr, "%s", question);
    fflush(stderr);
    prompt_echo_off = 1;
    int rc = tcsetattr(STDIN_FILENO, TCSAFLUSH, &t);
    if (rc == 0)
        rc = prompt_line(out, len);
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &prompt_saved);
    prompt_echo_off = 0;
    sigaction(SIGINT, &oi, NULL);
    sigaction(SIGTERM, &ot, NULL);
    sigaction(SIGQUIT, &oq, NULL);
    return rc;
}

int cli_read_password(const char *who, bool from_stdin, char *out,
                      size_t len)
{
    char why[160];
    if (from_stdin) {
        int rc = prompt_line(out, len);
        if (rc == 1) {
            fprintf(stderr, "lockbridge: a password may have at most %d "
                    "bytes\n", AUTH_PASSWORD_MAX);
            return -1;
        }
        if (rc < 0) {
            fprintf(stderr, "lockbridge: --password-stdin: no password on "
                    "stdin (one line: the password)\n");
            return -1;
        }
    } else {
        if (!isatty(STDIN_FILENO)) {
            fprintf(stderr, "lockbridge: no terminal to ask for the password "
                    "on: give it as one line on stdin with "
                    "--password-stdin\n");
            return -1;
        }
        char again[AUTH_PASSWORD_MAX + 2];
        char q[160];
        snprintf(q, sizeof q, "New password for %s (at least %d "
                 "characters): ", who, AUTH_PASSWORD_MIN);
        int rc = prompt_tty(q, out, len);
        if (rc == 0 && auth_password_ok(out, why, sizeof why) == 0)
            rc = prompt_tty("The same again: ", again, sizeof again);
        else if (rc == 0)
            rc = 2;                     /* said below, before asking twice */
        if (rc == 0 && strcmp(out, again) != 0) {
            explicit_bzero(again, sizeof again);
            fprintf(stderr, "lockbridge: the two passwords differ; nothing "
                    "changed\n");
            return -1;
        }
        explicit_bzero(again, sizeof again);
        if (rc == 1) {
            fprintf(stderr, "lockbridge: a password may have at most %d "
                    "bytes\n", AUTH_PASSWORD_MAX);
            return -1;
        }
        if (rc < 0) {
            fprintf(stderr, "lockbridge: no password read\n");
            return -1;
        }
    }
    if (auth_password_ok(out, why, sizeof why) < 0) {
        fprintf(stderr, "lockbridge: %s; nothing changed\n", why);
        return -1;
    }
    return 0;
}
