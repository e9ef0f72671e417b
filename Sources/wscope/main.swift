print("wscope: under construction")
