// Package source reads the secret a deployment currently uses — from a file
// (a mounted Secret), an environment variable, or, in package kube, the
// Secret object through the Kubernetes API. credrotate compares it with the
// newest secret to see that a rollout landed.
package source

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/credrotate/credrotate/pkg/credential"
)

// maxSecretSize caps what is read from a file: a client secret is short.
const maxSecretSize = 64 << 10

// ErrEmpty is returned when a source exists but holds nothing.
var ErrEmpty = errors.New("secret source is empty")

// Reader reads a current secret.
type Reader interface {
	Read(ctx context.Context) (credential.Secret, error)
	// Describe names the source for messages, never its value.
	Describe() string
}

// File reads a secret from a file, such as a Secret mounted by Kubernetes.
// One trailing newline is dropped.
type File string

// Read implements Reader.
func (f File) Read(context.Context) (credential.Secret, error) {
	fh, err := os.Open(string(f))
	if err != nil {
		return credential.Secret{}, fmt.Errorf("reading current secret from file %s: %w", string(f), err)
	}
	defer fh.Close()
	b, err := io.ReadAll(io.LimitReader(fh, maxSecretSize+1))
	if err != nil {
		return credential.Secret{}, fmt.Errorf("reading current secret from file %s: %w", string(f), err)
	}
	if len(b) > maxSecretSize {
		return credential.Secret{}, fmt.Errorf("current secret file %s is larger than %d bytes: is it the right file?", string(f), maxSecretSize)
	}
	return trimmed(string(b), f.Describe())
}

// Describe implements Reader.
func (f File) Describe() string { return "file " + string(f) }

// Env reads a secret from an environment variable.
type Env string

// Read implements Reader.
func (e Env) Read(context.Context) (credential.Secret, error) {
	v, ok := os.LookupEnv(string(e))
	if !ok {
		return credential.Secret{}, fmt.Errorf("environment variable %s is not set: export it or point currentSecret at a file", string(e))
	}
	return trimmed(v, e.Describe())
}

// Describe implements Reader.
func (e Env) Describe() string { return "environment variable " + string(e) }

func trimmed(v, what string) (credential.Secret, error) {
	v = strings.TrimSuffix(strings.TrimSuffix(v, "\n"), "\r")
	if v == "" {
		return credential.Secret{}, fmt.Errorf("%s: %w", what, ErrEmpty)
	}
	return credential.NewSecret(v), nil
}
