package serve

import (
	"fmt"
	"os"

	"github.com/mqttx/mqttx/internal/broker/store"
)

// openStore opens the store of --data-dir; nil without it. A commit that
// fails later stops the process at once, as a crash would: nothing that
// was not committed has been acknowledged, and the next start reads what
// was.
func (o *options) openStore() (*store.Bolt, error) {
	if o.DataDir == "" {
		return nil, nil
	}
	st, err := store.OpenBolt(o.DataDir, func(err error) {
		fmt.Fprintf(o.IO.ErrOut, "Error: --data-dir %s: %v\n", o.DataDir, err)
		os.Exit(1)
	})
	if err != nil {
		return nil, fmt.Errorf("--data-dir: %w", err)
	}
	return st, nil
}
