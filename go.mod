module github.com/glmv/glmv

go 1.26
