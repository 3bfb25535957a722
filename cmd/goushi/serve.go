package main

import "errors"

func cmdServe(args []string) error {
	return errors.New("not built yet")
}
