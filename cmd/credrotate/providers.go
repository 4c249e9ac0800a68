package main

import (
	"net/http"

	"github.com/sirupsen/logrus"

	"github.com/credrotate/credrotate/pkg/config"
	"github.com/credrotate/credrotate/pkg/equifax/mocksafe"
	"github.com/credrotate/credrotate/pkg/equifax/soap"
	"github.com/credrotate/credrotate/pkg/rotate"
)

// newSOAPProvider builds the SOAP adapter.
func newSOAPProvider(cfg config.Equifax, hc *http.Client, log *logrus.Entry) (rotate.Provider, error) {
	c, err := soap.New(soap.Options{URL: cfg.SOAPURL, ManagementScope: cfg.ManagementScope, HTTPClient: hc, Timeout: cfg.Timeout, Logger: log.WithField("transport", "soap")})
	if err != nil {
		return nil, usageErrorf("equifax: %v", err)
	}
	return c, nil
}

// newMockSafe wraps p so that nothing is changed at Equifax.
func newMockSafe(p rotate.Provider, log *logrus.Entry) rotate.Provider {
	return mocksafe.New(p, mocksafe.Options{Logger: log.WithField("mock_safe", true)})
}

func newKubeSource(k config.KubernetesSecret) (rotate.SecretReader, error) {
	return nil, usageErrorf("currentSecret.kubernetes is not available yet in this build")
}
