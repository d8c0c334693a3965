package sub

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mqttx/mqttx/internal/mqttc"
)

// outputs are the --file-write and --file-save destinations.
type outputs struct {
	file      *os.File
	w         *bufio.Writer
	delimiter []byte
	dir       string
	n         int
}

func openOutputs(o *options) (*outputs, error) {
	out := &outputs{delimiter: []byte(unescape(o.Delimiter)), dir: o.FileSave}
	if o.FileWrite != "" {
		f, err := os.OpenFile(o.FileWrite, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("open --file-write: %w", err)
		}
		out.file, out.w = f, bufio.NewWriter(f)
	}
	if o.FileSave != "" {
		if err := os.MkdirAll(o.FileSave, 0o755); err != nil {
			return nil, fmt.Errorf("--file-save: %w", err)
		}
	}
	return out, nil
}

func (out *outputs) write(m mqttc.Message) error {
	if out.w != nil {
		out.w.Write(m.Payload)
		out.w.Write(out.delimiter)
		// Flushed per message so that a reader (tail -f) sees it at once.
		if err := out.w.Flush(); err != nil {
			return fmt.Errorf("--file-write: %w", err)
		}
	}
	if out.dir != "" {
		out.n++
		name := filepath.Join(out.dir, fileName(m.Topic, out.n))
		if err := os.WriteFile(name, m.Payload, 0o644); err != nil {
			return fmt.Errorf("--file-save: %w", err)
		}
	}
	return nil
}

func (out *outputs) close() {
	if out.file != nil {
		out.file.Close()
	}
}

// fileName is the --file-save name of the nth message: its topic with '/' and other
// characters unsafe in file names replaced by '_', and n, so names never collide.
func fileName(topic string, n int) string {
	safe := strings.Map(func(r rune) rune {
		switch {
		case r == '/' || r == '\\' || r == ':' || r == '*' || r == '?' || r == '"' || r == '<' || r == '>' || r == '|' || r < 0x20:
			return '_'
		}
		return r
	}, topic)
	if len(safe) > 100 {
		safe = safe[:100]
	}
	return fmt.Sprintf("%s_%06d", safe, n)
}

// unescape understands \n, \t and \\ in --delimiter.
func unescape(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	if u, err := strconv.Unquote(`"` + strings.ReplaceAll(s, `"`, `\"`) + `"`); err == nil {
		return u
	}
	return s
}
