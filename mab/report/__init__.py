"""The HTML report of a build (`mab report`): what it shows (`data`), its SVG (`svg`), the page
(`html`)."""
