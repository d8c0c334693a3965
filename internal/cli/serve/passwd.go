package serve

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/mqttx/mqttx/internal/broker/auth"
	"github.com/mqttx/mqttx/internal/cli/cmdutil"
	"github.com/mqttx/mqttx/internal/output"
)

type passwdOptions struct {
	IO *output.Streams

	Create bool
	Batch  bool
	Delete bool

	File     string
	User     string
	Password string

	// readPassword reads a password from a terminal without echo; nil when
	// stdin is not a terminal.
	readPassword func() ([]byte, error)
}

func newPasswdCmd(f *cmdutil.Factory, runF func(*passwdOptions) error) *cobra.Command {
	opts := &passwdOptions{IO: f.IO}
	cmd := &cobra.Command{
		Use:   "passwd [-c] [-b] [-D] <file> <username> [<password>]",
		Short: "Add, update or delete a user in a password file",
		Long: `Add, update or delete a user in a password file, as mosquitto_passwd does.

The file is mosquitto's format, one "username:hash" line per user, with mosquitto 2.0's
PBKDF2-SHA512 hashes ($7$), so the same file works with mqttx serve --users and with
mosquitto's password_file. The password is read twice from a terminal, or once (one
line) from stdin when it is not a terminal; -b takes it from the command line instead,
where other users of the machine may see it.`,
		Example: `  $ mqttx serve passwd -c passwd alice
  $ echo "$BOB_PASSWORD" | mqttx serve passwd passwd bob
  $ mqttx serve passwd -b passwd carol s3cret
  $ mqttx serve passwd -D passwd carol
  $ mqttx serve --users passwd`,
		Args: cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.parseArgs(args); err != nil {
				return &cmdutil.FlagError{Err: err}
			}
			if in, ok := opts.IO.In.(*os.File); ok && term.IsTerminal(int(in.Fd())) {
				opts.readPassword = func() ([]byte, error) { return term.ReadPassword(int(in.Fd())) }
			}
			if runF != nil {
				return runF(opts)
			}
			return runPasswd(opts)
		},
	}
	fs := cmd.Flags()
	fs.BoolVarP(&opts.Create, "create", "c", false, "create a new file, replacing an existing one")
	fs.BoolVarP(&opts.Batch, "batch", "b", false, "take the password from the command line")
	fs.BoolVarP(&opts.Delete, "delete", "D", false, "delete the user")
	fs.SortFlags = false
	return cmd
}

// parseArgs checks the arguments against the flags, without touching files.
func (o *passwdOptions) parseArgs(args []string) error {
	want := 2
	if o.Batch {
		want = 3
	}
	switch {
	case o.Delete && (o.Create || o.Batch):
		return errors.New("-D deletes a user: use it without -c and -b")
	case len(args) != want && o.Batch:
		return fmt.Errorf("-b needs <file> <username> <password>, got %d arguments", len(args))
	case len(args) != want:
		return fmt.Errorf("want <file> <username>, got %d arguments (use -b to give the password as a third)", len(args))
	}
	o.File, o.User = args[0], args[1]
	if o.Batch {
		o.Password = args[2]
	}
	if err := auth.ValidUsername(o.User); err != nil {
		return fmt.Errorf("invalid username: %v", err)
	}
	return nil
}

func runPasswd(o *passwdOptions) error {
	var old []byte
	mode := fs.FileMode(0o600)
	if !o.Create {
		b, err := os.ReadFile(o.File)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("password file %s does not exist; create it with -c", o.File)
			}
			return fmt.Errorf("password file %s: %v", o.File, err)
		}
		old = b
		if st, err := os.Stat(o.File); err == nil {
			mode = st.Mode().Perm()
		}
	}
	var out []byte
	if o.Delete {
		b, found, err := auth.DeleteUser(old, o.User)
		if err != nil {
			return fmt.Errorf("password file %s: %w", o.File, err)
		}
		if !found {
			return fmt.Errorf("password file %s has no user %q", o.File, o.User)
		}
		out = b
	} else {
		if !o.Create {
			// Refuse a foreign file before asking for a password.
			if _, err := auth.SetPassword(old, o.User, ""); err != nil {
				return fmt.Errorf("password file %s: %w", o.File, err)
			}
		}
		pw, err := o.password()
		if err != nil {
			return err
		}
		h, err := auth.HashPassword(pw)
		if err != nil {
			return err
		}
		if out, err = auth.SetPassword(old, o.User, h); err != nil {
			return fmt.Errorf("password file %s: %w", o.File, err)
		}
	}
	return writeFileAtomic(o.File, out, mode)
}

// password returns the password from -b, twice from a terminal, or one line of stdin.
func (o *passwdOptions) password() ([]byte, error) {
	if o.Batch {
		if o.Password == "" {
			return nil, &cmdutil.FlagError{Err: errors.New("empty password: give one")}
		}
		return []byte(o.Password), nil
	}
	if o.readPassword != nil {
		fmt.Fprint(o.IO.ErrOut, "Password: ")
		a, err := o.readPassword()
		fmt.Fprintln(o.IO.ErrOut)
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		fmt.Fprint(o.IO.ErrOut, "Reenter password: ")
		b, err := o.readPassword()
		fmt.Fprintln(o.IO.ErrOut)
		if err != nil {
			return nil, fmt.Errorf("read password: %w", err)
		}
		if string(a) != string(b) {
			return nil, errors.New("passwords do not match; try again")
		}
		if len(a) == 0 {
			return nil, errors.New("empty password: type one")
		}
		return a, nil
	}
	line, err := bufio.NewReader(o.IO.In).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return nil, errors.New("empty password on stdin: give one line holding the password")
	}
	return []byte(line), nil
}

// writeFileAtomic replaces name with b: a crash leaves the old file or the new one.
func writeFileAtomic(name string, b []byte, mode fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("write password file %s: %v", name, pathErr(err))
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write password file %s: %v", name, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return fmt.Errorf("write password file %s: %v", name, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write password file %s: %v", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		return fmt.Errorf("write password file %s: %v", name, pathErr(err))
	}
	return nil
}

func pathErr(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}
