package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestManPages(t *testing.T) {
	dir := t.TempDir()
	env := map[string]string{"SOURCE_DATE_EPOCH": "1767225600"} // 2026-01-01
	if err := run([]string{dir}, func(k string) string { return env[k] }); err != nil {
		t.Fatal(err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, want := range []string{"mqttx.1", "mqttx-conn.1", "mqttx-pub.1", "mqttx-sub.1", "mqttx-serve.1", "mqttx-completion.1", "mqttx-completion-bash.1"} {
		if !slices.Contains(names, want) {
			t.Errorf("no %s among %q", want, names)
		}
	}
	pub, err := os.ReadFile(filepath.Join(dir, "mqttx-pub.1"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"Jan 2026"`, `mqttx pub -t <topic> [-m <message>`, "Exit codes:"} {
		if !strings.Contains(string(pub), want) {
			t.Errorf("mqttx-pub.1 lacks %q", want)
		}
	}
	completion, err := os.ReadFile(filepath.Join(dir, "mqttx-completion.1"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(completion), "source <(mqttx completion bash)") {
		t.Errorf("mqttx-completion.1 lost the bash line:\n%s", completion)
	}
}

func TestBadArgs(t *testing.T) {
	none := func(string) string { return "" }
	if err := run(nil, none); err == nil || err.Error() != "usage: mangen DIR" {
		t.Errorf("no args: %v", err)
	}
	bad := func(string) string { return "yesterday" }
	if err := run([]string{t.TempDir()}, bad); err == nil || !strings.Contains(err.Error(), "invalid $SOURCE_DATE_EPOCH") {
		t.Errorf("bad SOURCE_DATE_EPOCH: %v", err)
	}
}

func TestDateWithoutCommitTime(t *testing.T) {
	dir := t.TempDir()
	env := func(string) string { return "-62135596800" } // goreleaser's zero CommitTimestamp
	if err := run([]string{dir}, env); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "mqttx.1"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(page), "0001") {
		t.Errorf("mqttx.1 dated year 1:\n%s", page)
	}
}
