// Command mangen writes mqttx's man pages, one per command (mqttx.1, mqttx-pub.1, ...),
// into a directory. The release runs it; the pages are not committed.
//
//	go run ./tools/mangen man
//
// The pages carry the date of $SOURCE_DATE_EPOCH when it is set and positive (the release
// passes its commit's time, so the pages are reproducible), and today's date otherwise.
package main

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/mqttx/mqttx/internal/build"
	"github.com/mqttx/mqttx/internal/cli"
	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/output"
)

func main() {
	if err := run(os.Args[1:], os.Getenv); err != nil {
		fmt.Fprintf(os.Stderr, "mangen: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, getenv func(string) string) error {
	if len(args) != 1 {
		return errors.New("usage: mangen DIR")
	}
	dir := args[0]
	date := time.Now()
	if s := getenv("SOURCE_DATE_EPOCH"); s != "" {
		sec, err := strconv.ParseInt(s, 10, 64)
		if err != nil {
			return fmt.Errorf("invalid $SOURCE_DATE_EPOCH %q: want seconds since 1970", s)
		}
		// A release made without git information passes the zero time, before 1970.
		if sec > 0 {
			date = time.Unix(sec, 0).UTC()
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	root := cli.NewRootCmd(cmdutil.New(output.System()))
	root.DisableAutoGenTag = true
	escapeMarkdown(root)
	header := &doc.GenManHeader{
		Title:   "MQTTX",
		Section: "1",
		Source:  "mqttx " + build.VersionString(),
		Manual:  "mqttx manual",
		Date:    &date,
	}
	return doc.GenManTree(root, header, dir)
}

// escapeMarkdown keeps <topic> and <(cmd) in each command's usage line and description
// from being read as HTML tags by the Markdown to roff converter, which would drop them.
// Indented lines are code blocks in Markdown and are printed as they are.
func escapeMarkdown(c *cobra.Command) {
	c.Use = escapeLine(c.Use)
	lines := strings.Split(c.Long, "\n")
	for i, l := range lines {
		if !strings.HasPrefix(l, "    ") && !strings.HasPrefix(l, "\t") {
			lines[i] = escapeLine(l)
		}
	}
	c.Long = strings.Join(lines, "\n")
	for _, sub := range c.Commands() {
		escapeMarkdown(sub)
	}
}

var markdownSpecial = strings.NewReplacer("<", `\<`, ">", `\>`)

func escapeLine(s string) string { return markdownSpecial.Replace(s) }
