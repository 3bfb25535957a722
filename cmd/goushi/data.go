package main

import "errors"

func cmdData(args []string) error {
	return errors.New("not built yet")
}
