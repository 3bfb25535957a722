module github.com/goushi/goushi

go 1.26.8
