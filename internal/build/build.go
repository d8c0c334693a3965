// Package build reports the version of the mqttx binary.
package build

import "runtime/debug"

// Version is set at link time with
// -ldflags "-X github.com/mqttx/mqttx/internal/build.Version=v1.2.3".
// When it is empty, VersionString falls back to the module version recorded by the Go
// toolchain (set by `go install module@version`), or "dev".
var Version = ""

// VersionString returns the version to print for `mqttx --version`.
func VersionString() string {
	return versionFrom(Version, debug.ReadBuildInfo)
}

func versionFrom(linked string, read func() (*debug.BuildInfo, bool)) string {
	if linked != "" {
		return linked
	}
	if info, ok := read(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
		return info.Main.Version
	}
	return "dev"
}
