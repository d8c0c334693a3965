// Package scenarios holds mqttx's built-in simulation scenarios, one YAML file each,
// embedded in the binary. The format is described in README.md beside them.
package scenarios

import "embed"

// FS holds the built-in scenario files (NAME.yaml).
//
//go:embed *.yaml
var FS embed.FS
