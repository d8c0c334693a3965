// Command mqttx is a command-line MQTT toolkit: conn, pub and sub for MQTT 5, 3.1.1 and
// 3.1 over TCP, TLS and WebSocket.
package main

import (
	"os"

	"github.com/mqttx/mqttx/internal/cli"
	"github.com/mqttx/mqttx/internal/output"
)

func main() {
	os.Exit(cli.Main(os.Args[1:], output.System()))
}
