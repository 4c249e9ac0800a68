package main

import (
	"net/http"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/rotate"
)

func newSOAPProvider(cfg config.Equifax, hc *http.Client, log *logrus.Entry) (rotate.Provider, error) {
	return nil, usageErrorf("the soap transport is not available yet in this build")
}

func newMockSafe(p rotate.Provider, log *logrus.Entry) rotate.Provider { return p }

func newKubeSource(k config.KubernetesSecret) (rotate.SecretReader, error) {
	return nil, usageErrorf("currentSecret.kubernetes is not available yet in this build")
}
