package main

import "errors"

func cmdSample(args []string) error {
	return errors.New("not built yet")
}
