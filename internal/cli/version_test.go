package cli

import (
	"regexp"
	"testing"
)

func TestVersionPrintsCommitAndDate(t *testing.T) {
	code, out, errOut := run(t, "--version")
	// A test binary has neither ldflags nor a VCS stamp: this checks the fallbacks.
	want := regexp.MustCompile(`^mqttx \S+\ncommit \S+\nbuilt \S+\n$`)
	if code != 0 || errOut != "" || !want.MatchString(out) {
		t.Errorf("--version: code %d, stdout %q, stderr %q; want version, commit and build date lines", code, out, errOut)
	}
}
