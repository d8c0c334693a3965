// Package output owns what mqttx writes: Streams decides once, per stream, whether it is a
// terminal and whether to use colour; a Printer writes status, results, messages and
// errors as text, JSON Lines or raw payloads.
//
// Received messages and command results go to stdout; status and errors go to stderr.
package output

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"github.com/mattn/go-isatty"
)

// Streams are the three standard streams and the decisions made about them.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer

	outTTY, errTTY     bool
	noColorEnv         bool // NO_COLOR set and not empty, or TERM=dumb
	colorMode          string
	colorOut, colorErr bool
}

// System returns the process's standard streams. Each of stdout and stderr is checked
// for a terminal separately; colour follows SetColor("auto") until changed: on for a
// terminal stream unless NO_COLOR is set (non-empty) or TERM is "dumb".
func System() *Streams {
	return newStreams(os.Stdin, os.Stdout, os.Stderr, isTerminal(os.Stdout), isTerminal(os.Stderr), os.Getenv)
}

func isTerminal(f *os.File) bool {
	fd := f.Fd()
	return isatty.IsTerminal(fd) || isatty.IsCygwinTerminal(fd)
}

func newStreams(in io.Reader, out, errOut io.Writer, outTTY, errTTY bool, getenv func(string) string) *Streams {
	s := &Streams{
		In: in, Out: out, ErrOut: errOut,
		outTTY: outTTY, errTTY: errTTY,
		noColorEnv: getenv("NO_COLOR") != "" || getenv("TERM") == "dumb",
	}
	_ = s.SetColor("auto")
	return s
}

// Test returns streams on buffers: not terminals, no colour, NO_COLOR not consulted.
func Test() (s *Streams, in *bytes.Buffer, out *bytes.Buffer, errOut *bytes.Buffer) {
	in, out, errOut = &bytes.Buffer{}, &bytes.Buffer{}, &bytes.Buffer{}
	s = newStreams(in, out, errOut, false, false, func(string) string { return "" })
	return s, in, out, errOut
}

// SetTTY overrides terminal detection, for tests that need terminal behaviour, and
// re-applies the current colour mode.
func (s *Streams) SetTTY(stdout, stderr bool) {
	s.outTTY, s.errTTY = stdout, stderr
	_ = s.SetColor(s.colorMode)
}

// IsStdoutTTY reports whether stdout is a terminal.
func (s *Streams) IsStdoutTTY() bool { return s.outTTY }

// IsStderrTTY reports whether stderr is a terminal.
func (s *Streams) IsStderrTTY() bool { return s.errTTY }

// SetColor applies a --color value: "auto" (colour on a terminal unless NO_COLOR),
// "always" or "never". "" means "auto".
func (s *Streams) SetColor(mode string) error {
	switch mode {
	case "", "auto":
		s.colorMode = "auto"
		s.colorOut = s.outTTY && !s.noColorEnv
		s.colorErr = s.errTTY && !s.noColorEnv
	case "always":
		s.colorMode = mode
		s.colorOut, s.colorErr = true, true
	case "never":
		s.colorMode = mode
		s.colorOut, s.colorErr = false, false
	default:
		return fmt.Errorf("invalid --color %s: must be auto, always or never", quote(mode))
	}
	return nil
}

// ColorOut reports whether to colour what goes to stdout.
func (s *Streams) ColorOut() bool { return s.colorOut }

// ColorErr reports whether to colour what goes to stderr.
func (s *Streams) ColorErr() bool { return s.colorErr }

// Format is an output format: text, JSON Lines or raw payloads.
type Format string

// Output formats.
const (
	FormatText Format = "text"
	FormatJSON Format = "json"
	FormatRaw  Format = "raw"
)

// ParseFormat parses an -o/--output value. "" and "auto" mean text when stdout is a
// terminal and JSON Lines otherwise.
func ParseFormat(v string, s *Streams) (Format, error) {
	switch v {
	case "", "auto":
		if s != nil && s.IsStdoutTTY() {
			return FormatText, nil
		}
		return FormatJSON, nil
	case "text", "json", "raw":
		return Format(v), nil
	}
	return "", fmt.Errorf("invalid --output %s: must be auto, text, json or raw", quote(v))
}

// quote shows a flag value as typed, quoted only when it is empty or has spaces or
// unprintable characters.
func quote(v string) string {
	if v == "" || strings.ContainsAny(v, " \t\"") {
		return strconv.Quote(v)
	}
	for _, r := range v {
		if !strconv.IsPrint(r) {
			return strconv.Quote(v)
		}
	}
	return v
}
