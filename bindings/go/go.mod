// SPDX-License-Identifier: LGPL-2.1-or-later
// A dotless module path: this module is not hosted anywhere, and the go command never tries to
// download a path whose first element has no dot. Users take it with a replace directive.
module tlslocal

go 1.19
