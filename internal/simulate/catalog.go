package simulate

import (
	"errors"
	"fmt"
	iofs "io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Catalog finds scenarios by name: the built-ins and the user's own folder, where a
// file NAME.yaml adds a scenario or replaces the built-in of that name.
type Catalog struct {
	Builtin iofs.FS // NAME.yaml files at its root
	UserDir string  // "" for none; a missing folder is fine
}

// Entry is one scenario of a catalog.
type Entry struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	// Source is "built-in" or the file's path.
	Source string `json:"source"`
	// Err is set when the file does not load; ls shows it rather than hiding the file.
	Err error `json:"-"`
}

// List returns every scenario, sorted by name; a user file shadows a built-in.
func (c Catalog) List() ([]Entry, error) {
	byName := map[string]Entry{}
	if c.Builtin != nil {
		names, err := iofs.Glob(c.Builtin, "*.yaml")
		if err != nil {
			return nil, err
		}
		for _, n := range names {
			data, err := iofs.ReadFile(c.Builtin, n)
			if err != nil {
				return nil, err
			}
			byName[strings.TrimSuffix(n, ".yaml")] = entry(strings.TrimSuffix(n, ".yaml"), n, "built-in", data)
		}
	}
	if c.UserDir != "" {
		files, err := filepath.Glob(filepath.Join(c.UserDir, "*.yaml"))
		if err != nil {
			return nil, err
		}
		for _, p := range files {
			data, err := os.ReadFile(p)
			name := strings.TrimSuffix(filepath.Base(p), ".yaml")
			if err != nil {
				byName[name] = Entry{Name: name, Source: p, Err: err}
				continue
			}
			byName[name] = entry(name, p, p, data)
		}
	}
	list := make([]Entry, 0, len(byName))
	for _, e := range byName {
		list = append(list, e)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	return list, nil
}

func entry(name, file, source string, data []byte) Entry {
	sc, err := Load(file, data)
	if err != nil {
		return Entry{Name: name, Source: source, Err: err}
	}
	return Entry{Name: name, Description: sc.Description, Source: source}
}

// Read returns the file of scenario name and where it came from (a path, or
// "NAME.yaml" for a built-in). An unknown name wraps ErrNotFound and lists the names.
func (c Catalog) Read(name string) (data []byte, file string, err error) {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return nil, "", fmt.Errorf("invalid scenario name %q: use a name from `mqttx simulate ls`, or -f FILE.yaml for a file", name)
	}
	if c.UserDir != "" {
		p := filepath.Join(c.UserDir, name+".yaml")
		data, err := os.ReadFile(p)
		if err == nil {
			return data, p, nil
		}
		if !errors.Is(err, iofs.ErrNotExist) {
			return nil, "", err
		}
	}
	if c.Builtin != nil {
		data, err := iofs.ReadFile(c.Builtin, name+".yaml")
		if err == nil {
			return data, name + ".yaml", nil
		}
	}
	var names []string
	if list, err := c.List(); err == nil {
		for _, e := range list {
			names = append(names, e.Name)
		}
	}
	return nil, "", fmt.Errorf("%w: %q%s: choose one of %s (see `mqttx simulate ls`)", ErrNotFound, name, suggest(name, names), strings.Join(names, ", "))
}

// Find reads and loads scenario name.
func (c Catalog) Find(name string) (*Scenario, error) {
	data, file, err := c.Read(name)
	if err != nil {
		return nil, err
	}
	return Load(file, data)
}
