package main

import "errors"

func benchTokenizer(args []string) error {
	return errors.New("not built yet")
}
