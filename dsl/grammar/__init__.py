"""The lark grammar of the language (a package so that installs ship ``craft.lark``)."""
