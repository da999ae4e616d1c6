allow_specified { prefix = "::1/128" apps = [] }
