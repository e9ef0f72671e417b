// The built-in themes: the same text as themes/NAME.theme (a test checks that they match).

enum BuiltinThemes {
    static let defaultTheme = """
        # wscope theme: default (dark background, 256 colours; mapped to 8 colours when needed)
        #
        # Copy this file, edit it and start wscope with --theme path/to/file.theme.
        # Each line is ROLE = STYLE, where STYLE is [FOREGROUND] [on BACKGROUND] [ATTRIBUTES].
        # Colours: default, black, red, green, yellow, blue, magenta, cyan, white, bright-NAME,
        #          grey, 0-255 (the 256-colour palette) or #rrggbb (nearest palette colour).
        # Attributes: bold dim underline reverse italic (or plain for none).
        # Roles left out come from the theme named by a "base = NAME" line (default: default).

        status           = 255 on 24
        status-accent    = 231 on 31 bold
        status-recording = 231 on 160 bold
        status-alert     = 231 on 124 bold
        column-header    = 250 on 236 bold
        row              = default
        selected         = 231 on 25 bold
        incoming         = 114
        outgoing         = 117
        control          = 179
        event            = 245 italic
        error            = 203 bold
        match            = 226 bold
        tab              = 250 on 236
        tab-active       = 231 on 25 bold
        pane-title       = 250 on 236 bold
        label            = 110
        value            = default
        hex-offset       = 244
        hex-bytes        = default
        hex-ascii        = 151
        json-key         = 117
        json-string      = 150
        json-number      = 215
        json-literal     = 176
        json-punctuation = 245
        help             = 252 on 237
        help-key         = 229 on 237 bold
        prompt           = 229 bold
        input            = default
        message          = 150
        message-error    = 203 bold
        hint             = 244
        border           = 240
        """

    static let light = """
        # wscope theme: light (for terminals with a light background, 256 colours)
        #
        # Each line is ROLE = STYLE, where STYLE is [FOREGROUND] [on BACKGROUND] [ATTRIBUTES].
        # Colours: default, black, red, green, yellow, blue, magenta, cyan, white, bright-NAME,
        #          grey, 0-255 (the 256-colour palette) or #rrggbb (nearest palette colour).
        # Attributes: bold dim underline reverse italic (or plain for none).

        status           = 231 on 25
        status-accent    = 231 on 31 bold
        status-recording = 231 on 160 bold
        status-alert     = 231 on 124 bold
        column-header    = 236 on 252 bold
        row              = default
        selected         = 16 on 153 bold
        incoming         = 28
        outgoing         = 25
        control          = 130
        event            = 242 italic
        error            = 160 bold
        match            = 127 bold
        tab              = 236 on 252
        tab-active       = 231 on 25 bold
        pane-title       = 236 on 252 bold
        label            = 24
        value            = default
        hex-offset       = 244
        hex-bytes        = default
        hex-ascii        = 65
        json-key         = 25
        json-string      = 28
        json-number      = 130
        json-literal     = 90
        json-punctuation = 242
        help             = 236 on 254
        help-key         = 25 on 254 bold
        prompt           = 25 bold
        input            = default
        message          = 28
        message-error    = 160 bold
        hint             = 244
        border           = 248
        """

    static let highContrast = """
        # wscope theme: high-contrast (the 16 basic colours, bold text, strong backgrounds)
        #
        # Each line is ROLE = STYLE, where STYLE is [FOREGROUND] [on BACKGROUND] [ATTRIBUTES].
        # Colours: default, black, red, green, yellow, blue, magenta, cyan, white, bright-NAME,
        #          grey, 0-255 (the 256-colour palette) or #rrggbb (nearest palette colour).
        # Attributes: bold dim underline reverse italic (or plain for none).

        status           = black on bright-white bold
        status-accent    = bright-white on blue bold
        status-recording = bright-white on red bold
        status-alert     = bright-white on red bold
        column-header    = black on bright-white bold
        row              = bright-white
        selected         = black on bright-yellow bold
        incoming         = bright-green bold
        outgoing         = bright-cyan bold
        control          = bright-yellow bold
        event            = bright-white underline
        error            = bright-white on red bold
        match            = black on bright-green bold
        tab              = black on white
        tab-active       = black on bright-yellow bold
        pane-title       = black on bright-white bold
        label            = bright-cyan bold
        value            = bright-white
        hex-offset       = bright-yellow
        hex-bytes        = bright-white
        hex-ascii        = bright-green
        json-key         = bright-cyan bold
        json-string      = bright-green
        json-number      = bright-yellow
        json-literal     = bright-magenta bold
        json-punctuation = bright-white
        help             = black on bright-white
        help-key         = blue on bright-white bold
        prompt           = bright-yellow bold
        input            = bright-white
        message          = bright-green bold
        message-error    = bright-white on red bold
        hint             = bright-white
        border           = bright-white
        """

    static let monochrome = """
        # wscope theme: monochrome (no colours: attributes only; used when NO_COLOR is set)
        #
        # Each line is ROLE = STYLE, where STYLE is [FOREGROUND] [on BACKGROUND] [ATTRIBUTES].
        # Attributes: bold dim underline reverse italic (or plain for none).

        status           = reverse
        status-accent    = reverse bold
        status-recording = reverse bold underline
        status-alert     = reverse bold underline
        column-header    = bold underline
        row              = plain
        selected         = reverse bold
        incoming         = plain
        outgoing         = bold
        control          = underline
        event            = dim
        error            = bold underline
        match            = bold
        tab              = plain
        tab-active       = reverse
        pane-title       = bold underline
        label            = bold
        value            = plain
        hex-offset       = dim
        hex-bytes        = plain
        hex-ascii        = plain
        json-key         = bold
        json-string      = plain
        json-number      = plain
        json-literal     = plain
        json-punctuation = dim
        help             = reverse
        help-key         = reverse bold
        prompt           = bold
        input            = plain
        message          = bold
        message-error    = bold underline
        hint             = dim
        border           = dim
        """
}
