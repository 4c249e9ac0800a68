package gitops

import (
	"errors"
	"fmt"
	"io/fs"
	"path"
	"strings"

	"github.com/go-git/go-billy/v5"
	"github.com/go-git/go-billy/v5/util"
)

// FS is the part of the working tree that the sealing step reads and writes.
// Names are slash-separated and relative to the repository root.
type FS interface {
	ReadFile(name string) ([]byte, error)
	WriteFile(name string, data []byte, perm fs.FileMode) error
	MkdirAll(name string, perm fs.FileMode) error
	ReadDir(name string) ([]fs.DirEntry, error)
	Stat(name string) (fs.FileInfo, error)
	Remove(name string) error
}

var _ FS = (*Workspace)(nil)

// ErrOutsideRepo reports a path that would leave the repository.
var ErrOutsideRepo = errors.New("path leaves the repository")

// cleanName makes name a clean relative slash path.
func cleanName(name string) string {
	return strings.TrimPrefix(path.Clean("/"+strings.ReplaceAll(name, "\\", "/")), "/")
}

func checkName(name string) (string, error) {
	if name == "" {
		return ".", nil
	}
	if path.IsAbs(name) || strings.HasPrefix(path.Clean(name), "..") {
		return "", fmt.Errorf("%s: %w", name, ErrOutsideRepo)
	}
	c := cleanName(name)
	if c == "" {
		c = "."
	}
	if c == ".git" || strings.HasPrefix(c, ".git/") {
		return "", fmt.Errorf("%s: %w", name, ErrOutsideRepo)
	}
	return c, nil
}

// ReadFile reads a file of the working tree.
func (w *Workspace) ReadFile(name string) ([]byte, error) {
	n, err := checkName(name)
	if err != nil {
		return nil, err
	}
	return util.ReadFile(w.fs, n)
}

// WriteFile writes a file of the working tree, creating its parent folders.
// git keeps only the executable bit of perm.
func (w *Workspace) WriteFile(name string, data []byte, perm fs.FileMode) error {
	n, err := checkName(name)
	if err != nil {
		return err
	}
	if dir := path.Dir(n); dir != "." {
		if err := w.fs.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	if perm == 0 {
		perm = 0o644
	}
	return util.WriteFile(w.fs, n, data, perm)
}

// MkdirAll creates a folder and its parents.
func (w *Workspace) MkdirAll(name string, perm fs.FileMode) error {
	n, err := checkName(name)
	if err != nil {
		return err
	}
	if perm == 0 {
		perm = 0o755
	}
	return w.fs.MkdirAll(n, perm)
}

// ReadDir lists a folder, sorted by name.
func (w *Workspace) ReadDir(name string) ([]fs.DirEntry, error) {
	n, err := checkName(name)
	if err != nil {
		return nil, err
	}
	infos, err := w.fs.ReadDir(n)
	if err != nil {
		return nil, err
	}
	out := make([]fs.DirEntry, 0, len(infos))
	for _, fi := range infos {
		if n == "." && fi.Name() == ".git" {
			continue
		}
		out = append(out, fs.FileInfoToDirEntry(fi))
	}
	return out, nil
}

// Stat describes a file or folder.
func (w *Workspace) Stat(name string) (fs.FileInfo, error) {
	n, err := checkName(name)
	if err != nil {
		return nil, err
	}
	return w.fs.Stat(n)
}

// Remove deletes a file or an empty folder.
func (w *Workspace) Remove(name string) error {
	n, err := checkName(name)
	if err != nil {
		return err
	}
	return w.fs.Remove(n)
}

// Filesystem exposes the underlying billy filesystem (for callers that
// need more than FS).
func (w *Workspace) Filesystem() billy.Filesystem { return w.fs }
